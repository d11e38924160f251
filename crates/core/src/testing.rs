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

/// Generates one `#[tokio::test]` per promise of the store contract, each on
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
        }
    };
}
