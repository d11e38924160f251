//! What every store owes, as tests any store crate runs against itself
//! (feature `testing`). A store that passes them keeps the promises the core
//! relies on (see [`crate::store::StoreTx`]): it is a store.
//!
//! A store crate runs the suite with [`store_conformance!`](crate::store_conformance),
//! giving an expression that makes a fresh, migrated, empty store, and one
//! that makes two handles on one such store (two processes, or two server
//! instances, each with connections of its own):
//!
//! ```ignore
//! taskforce_core::store_conformance!(fresh_sqlite().await, twin_sqlite().await);
//! ```
//!
//! Each promise is tested through the use cases, with real transactions in
//! flight at once; the promises across instances on two
//! [`App`](crate::service::App)s, each on a handle of its own.

pub mod conformance;

/// Generates one `#[tokio::test]` per promise of the store contract, and one
/// per test of the area traits' methods (a sub-module per area), each on
/// a store made by `$fresh` (an expression of type `Arc<dyn Store>`, awaited
/// inside the test), the promises across instances on `$twin` (of type
/// `[Arc<dyn Store>; 2]`: two handles on one fresh store). The caller's crate
/// needs `tokio` as a dev-dependency.
#[macro_export]
macro_rules! store_conformance {
    // One test per name of the promises, on a fresh store, on `$threads` threads.
    (@tests $fresh:expr, $threads:literal, [$($name:ident),+ $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn $name() {
                $crate::testing::conformance::$name($fresh).await;
            }
        )+
    };
    // One test per name of an area's methods.
    (@tests $fresh:expr, $threads:literal, $area:ident, [$($name:ident),+ $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn $name() {
                $crate::testing::conformance::$area::$name($fresh).await;
            }
        )+
    };
    ($fresh:expr, $twin:expr) => {
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;

            // The promises: transactions in flight at once, on four threads;
            // across instances on two handles of one store.
            $crate::store_conformance!(@tests $twin, 4, [
                two_registrations_in_flight_the_later_sees_the_earlier,
                a_feed_reader_misses_no_commit_of_transactions_in_flight,
                parallel_writers_append_one_audit_chain,
                concurrent_retries_of_one_idempotency_key_write_once,
                sign_in_turns_taken_at_once_on_two_instances_never_pass_the_burst
            ]);
            $crate::store_conformance!(@tests $fresh, 4, [
                a_transaction_dropped_without_commit_leaves_nothing,
                a_writer_given_up_while_it_waits_leaves_the_store_sound,
                a_store_answers_a_ping_and_a_probe_write_leaves_no_trace
            ]);

            mod agencies {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, agencies, [
                    states_sync_again_and_serve_as_home_states,
                    agencies_round_trip_by_id_and_short_name,
                    names_and_oris_taken,
                    agency_updates_replace_fields_but_id_and_creation,
                    agencies_list_in_id_order_and_by_visibility,
                    users_round_trip_and_count,
                    passwords_are_stored_replaced_and_dated,
                    users_list_in_id_order_and_by_agency,
                    users_update_and_disable,
                    webhooks_are_set_and_replaced
                ]);
            }

            mod sessions {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, sessions, [
                    sign_in_state_starts_empty_and_is_replaced,
                    sign_in_buckets_are_kept_replaced_and_forgotten_when_full,
                    sessions_round_trip_with_their_user_and_end,
                    second_factors_are_set_stepped_and_cleared,
                    recovery_codes_are_used_once_and_replaced,
                    pending_sign_ins_round_trip_and_are_removed,
                    api_tokens_round_trip_list_and_revoke
                ]);
            }

            mod operations {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, operations, [
                    operations_round_trip_by_id_and_code,
                    operation_updates_replace_states_and_agencies,
                    operations_list_in_id_order_and_by_member
                ]);
            }

            mod results {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, results, [
                    result_versions_append_and_list_the_current_one,
                    counters_add_up_by_state_and_agency,
                    tallies_round_trip_and_are_voided,
                    support_entries_are_logged_per_record,
                    announcements_and_resolutions_per_operation,
                    idempotency_keys_expire_and_are_replaced,
                    releases_move_to_published_and_then_freeze
                ]);
            }

            mod events {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, events, [
                    events_round_trip_count_and_update,
                    events_list_by_agency_operation_and_ids,
                    candidates_meet_the_window_and_the_latitudes,
                    ended_events_are_open_ones_past_their_end,
                    finished_events_are_done_each_with_a_new_revision_in_order,
                    the_change_feed_follows_inserts_and_updates,
                    recent_changes_come_with_the_newest_revision_and_the_keys_events
                ]);
            }

            mod events_conflicts {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, events_conflicts, [
                    conflicts_are_stored_once_per_pair_and_resolved,
                    alerts_go_to_an_inbox_and_are_acknowledged_once,
                    due_alerts_escalate_and_open_ones_stay_in_the_inbox,
                    an_agency_acknowledges_all_its_alerts_of_a_conflict,
                    deliveries_are_due_until_delivered_or_given_up
                ]);
            }

            mod subjects {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, subjects, [
                    subjects_round_trip_with_their_keys_links_and_sealed_part,
                    subject_updates_replace_what_may_change_at_a_new_revision,
                    subjects_list_in_id_order_by_agency_and_by_keys,
                    subjects_are_found_by_blind_key_and_by_event,
                    subjects_expiring_come_earliest_first_at_most_limit,
                    count_subjects_counts_every_registration_purged_or_not,
                    the_subject_feed_follows_inserts_and_updates,
                    subjects_are_read_for_an_index_in_key_order,
                    a_purge_removes_the_subject_its_links_and_matches_and_is_logged,
                    matches_are_stored_once_per_pair_found_and_decided,
                    matches_and_alerts_stored_many_at_once_are_as_one_by_one,
                    match_alerts_share_the_inbox_and_escalate_once,
                    check_alerts_name_the_subject_and_who_checked,
                    matches_of_an_operation_are_counted
                ]);
            }

            mod audit {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, audit, [
                    the_log_appends_and_pages_in_seq_order,
                    records_appended_together_read_back_as_one_by_one,
                    the_log_searches_by_every_field_newest_first,
                    coverage_finds_unaudited_objects_and_the_newest,
                    a_fresh_store_misses_no_protection
                ]);
            }

            mod keys {
                #[allow(unused_imports)]
                use super::*;
                $crate::store_conformance!(@tests $fresh, 2, keys, [
                    data_keys_round_trip_by_scope,
                    a_rewrap_replaces_one_keys_wrapping,
                    destroying_a_scope_shreds_its_keys_only
                ]);
            }
        }
    };
}
