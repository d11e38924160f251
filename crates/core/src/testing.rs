//! What every store owes, as tests any store crate runs against itself
//! (feature `testing`). A store that passes them keeps the promises the core
//! relies on (see [`crate::store::StoreTx`]): it is a store.
//!
//! A store crate runs the suite with [`store_conformance!`](crate::store_conformance),
//! giving an expression that makes a fresh, migrated, empty store:
//!
//! ```ignore
//! taskforce_core::store_conformance!(fresh_sqlite().await);
//! ```
//!
//! Each promise is tested through the use cases, with real transactions in
//! flight at once (two server instances on one store are two [`App`](crate::service::App)s).

pub mod conformance;

/// Generates one `#[tokio::test]` per promise of the store contract, and one
/// per test of the area traits' methods (a sub-module per area), each on
/// a store made by `$fresh` (an expression of type `Arc<dyn Store>`, awaited
/// inside the test). The caller's crate needs `tokio` as a dev-dependency.
#[macro_export]
macro_rules! store_conformance {
    ($fresh:expr) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn two_registrations_in_flight_the_later_sees_the_earlier() {
                $crate::testing::conformance::two_registrations_in_flight_the_later_sees_the_earlier($fresh).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_feed_reader_misses_no_commit_of_transactions_in_flight() {
                $crate::testing::conformance::a_feed_reader_misses_no_commit_of_transactions_in_flight($fresh).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn parallel_writers_append_one_audit_chain() {
                $crate::testing::conformance::parallel_writers_append_one_audit_chain($fresh).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_retries_of_one_idempotency_key_write_once() {
                $crate::testing::conformance::concurrent_retries_of_one_idempotency_key_write_once($fresh).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_transaction_dropped_without_commit_leaves_nothing() {
                $crate::testing::conformance::a_transaction_dropped_without_commit_leaves_nothing($fresh).await;
            }

            // BEGIN per-method tests (one sub-module per area)
            mod agencies {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn states_sync_again_and_serve_as_home_states() {
                    $crate::testing::conformance::agencies::states_sync_again_and_serve_as_home_states($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn agencies_round_trip_by_id_and_short_name() {
                    $crate::testing::conformance::agencies::agencies_round_trip_by_id_and_short_name($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn names_and_oris_taken() {
                    $crate::testing::conformance::agencies::names_and_oris_taken($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn agency_updates_replace_fields_but_id_and_creation() {
                    $crate::testing::conformance::agencies::agency_updates_replace_fields_but_id_and_creation($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn agencies_list_in_id_order_and_by_visibility() {
                    $crate::testing::conformance::agencies::agencies_list_in_id_order_and_by_visibility($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn users_round_trip_and_count() {
                    $crate::testing::conformance::agencies::users_round_trip_and_count($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn passwords_are_stored_replaced_and_dated() {
                    $crate::testing::conformance::agencies::passwords_are_stored_replaced_and_dated($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn users_list_in_id_order_and_by_agency() {
                    $crate::testing::conformance::agencies::users_list_in_id_order_and_by_agency($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn users_update_and_disable() {
                    $crate::testing::conformance::agencies::users_update_and_disable($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn webhooks_are_set_and_replaced() {
                    $crate::testing::conformance::agencies::webhooks_are_set_and_replaced($fresh).await;
                }
            }

            mod sessions {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sign_in_state_starts_empty_and_is_replaced() {
                    $crate::testing::conformance::sessions::sign_in_state_starts_empty_and_is_replaced($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sessions_round_trip_with_their_user_and_end() {
                    $crate::testing::conformance::sessions::sessions_round_trip_with_their_user_and_end($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn second_factors_are_set_stepped_and_cleared() {
                    $crate::testing::conformance::sessions::second_factors_are_set_stepped_and_cleared($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn recovery_codes_are_used_once_and_replaced() {
                    $crate::testing::conformance::sessions::recovery_codes_are_used_once_and_replaced($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn pending_sign_ins_round_trip_and_are_removed() {
                    $crate::testing::conformance::sessions::pending_sign_ins_round_trip_and_are_removed($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn api_tokens_round_trip_list_and_revoke() {
                    $crate::testing::conformance::sessions::api_tokens_round_trip_list_and_revoke($fresh).await;
                }
            }

            mod operations {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn operations_round_trip_by_id_and_code() {
                    $crate::testing::conformance::operations::operations_round_trip_by_id_and_code($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn operation_updates_replace_states_and_agencies() {
                    $crate::testing::conformance::operations::operation_updates_replace_states_and_agencies($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn operations_list_in_id_order_and_by_member() {
                    $crate::testing::conformance::operations::operations_list_in_id_order_and_by_member($fresh).await;
                }
            }

            mod results {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn result_versions_append_and_list_the_current_one() {
                    $crate::testing::conformance::results::result_versions_append_and_list_the_current_one($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn counters_add_up_by_state_and_agency() {
                    $crate::testing::conformance::results::counters_add_up_by_state_and_agency($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn tallies_round_trip_and_are_voided() {
                    $crate::testing::conformance::results::tallies_round_trip_and_are_voided($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn support_entries_are_logged_per_record() {
                    $crate::testing::conformance::results::support_entries_are_logged_per_record($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn announcements_and_resolutions_per_operation() {
                    $crate::testing::conformance::results::announcements_and_resolutions_per_operation($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn idempotency_keys_expire_and_are_replaced() {
                    $crate::testing::conformance::results::idempotency_keys_expire_and_are_replaced($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn releases_move_to_published_and_then_freeze() {
                    $crate::testing::conformance::results::releases_move_to_published_and_then_freeze($fresh).await;
                }
            }

            mod events {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn events_round_trip_count_and_update() {
                    $crate::testing::conformance::events::events_round_trip_count_and_update($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn events_list_by_agency_operation_and_ids() {
                    $crate::testing::conformance::events::events_list_by_agency_operation_and_ids($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn candidates_meet_the_window_and_the_latitudes() {
                    $crate::testing::conformance::events::candidates_meet_the_window_and_the_latitudes($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn ended_events_are_open_ones_past_their_end() {
                    $crate::testing::conformance::events::ended_events_are_open_ones_past_their_end($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn the_change_feed_follows_inserts_and_updates() {
                    $crate::testing::conformance::events::the_change_feed_follows_inserts_and_updates($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn recent_changes_come_with_the_newest_revision_and_the_keys_events() {
                    $crate::testing::conformance::events::recent_changes_come_with_the_newest_revision_and_the_keys_events($fresh).await;
                }
            }

            mod events_conflicts {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn conflicts_are_stored_once_per_pair_and_resolved() {
                    $crate::testing::conformance::events_conflicts::conflicts_are_stored_once_per_pair_and_resolved($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn alerts_go_to_an_inbox_and_are_acknowledged_once() {
                    $crate::testing::conformance::events_conflicts::alerts_go_to_an_inbox_and_are_acknowledged_once($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn due_alerts_escalate_and_open_ones_stay_in_the_inbox() {
                    $crate::testing::conformance::events_conflicts::due_alerts_escalate_and_open_ones_stay_in_the_inbox($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn an_agency_acknowledges_all_its_alerts_of_a_conflict() {
                    $crate::testing::conformance::events_conflicts::an_agency_acknowledges_all_its_alerts_of_a_conflict($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn deliveries_are_due_until_delivered_or_given_up() {
                    $crate::testing::conformance::events_conflicts::deliveries_are_due_until_delivered_or_given_up($fresh).await;
                }
            }

            mod audit {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn the_log_appends_and_pages_in_seq_order() {
                    $crate::testing::conformance::audit::the_log_appends_and_pages_in_seq_order($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn the_log_searches_by_every_field_newest_first() {
                    $crate::testing::conformance::audit::the_log_searches_by_every_field_newest_first($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn coverage_finds_unaudited_objects_and_the_newest() {
                    $crate::testing::conformance::audit::coverage_finds_unaudited_objects_and_the_newest($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn a_fresh_store_misses_no_protection() {
                    $crate::testing::conformance::audit::a_fresh_store_misses_no_protection($fresh).await;
                }
            }

            mod keys {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn data_keys_round_trip_by_scope() {
                    $crate::testing::conformance::keys::data_keys_round_trip_by_scope($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn a_rewrap_replaces_one_keys_wrapping() {
                    $crate::testing::conformance::keys::a_rewrap_replaces_one_keys_wrapping($fresh).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn destroying_a_scope_shreds_its_keys_only() {
                    $crate::testing::conformance::keys::destroying_a_scope_shreds_its_keys_only($fresh).await;
                }
            }

            // END per-method tests
        }
    };
}
