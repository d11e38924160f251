//! Agencies and users: the states of reference, agencies, users with their passwords, and
//! agencies' webhooks.

use async_trait::async_trait;

use crate::agency::Agency;
use crate::ids::{AgencyId, UserId};
use crate::states::{StateCode, UsState};
use crate::user::User;

use super::StoreError;

/// Agencies and users: the states of reference, agencies, users with their passwords, and agencies'
/// webhooks.
#[async_trait]
pub trait AgencyStore: Send {
    /// Makes the states table match `states` (reference data, at start-up).
    async fn sync_states(&mut self, states: &[UsState]) -> Result<(), StoreError>;

    /// Stores a new agency.
    async fn insert_agency(&mut self, agency: &Agency) -> Result<(), StoreError>;
    /// Replaces a stored agency's fields (all but `id` and `created_at`);
    /// `Unique` when the new short name or ORI is another agency's.
    async fn update_agency(&mut self, agency: &Agency) -> Result<(), StoreError>;
    /// An agency by id.
    async fn find_agency(&mut self, id: AgencyId) -> Result<Option<Agency>, StoreError>;
    /// An agency by short name.
    async fn find_agency_by_short_name(&mut self, short_name: &str) -> Result<Option<Agency>, StoreError>;
    /// Whether an agency of this name (case-insensitive) exists in `state`.
    async fn agency_name_taken(&mut self, name: &str, state: StateCode) -> Result<bool, StoreError>;
    /// Whether an agency has this ORI.
    async fn ori_taken(&mut self, ori: &str) -> Result<bool, StoreError>;
    /// Agencies in id order after `after`, at most `limit`; with `visible_to`,
    /// only that agency and those sharing an operation with it.
    async fn list_agencies(
        &mut self,
        visible_to: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Agency>, StoreError>;
    /// The agencies with these ids (missing ids are skipped).
    async fn agencies_by_ids(&mut self, ids: &[AgencyId]) -> Result<Vec<Agency>, StoreError>;

    /// Stores a new user with its password hash.
    async fn insert_user(&mut self, user: &User, password_hash: &str) -> Result<(), StoreError>;
    /// A user by id.
    async fn find_user(&mut self, id: UserId) -> Result<Option<User>, StoreError>;
    /// A user by username.
    async fn find_user_by_username(&mut self, username: &str) -> Result<Option<User>, StoreError>;
    /// The stored password hash of a user.
    async fn password_hash(&mut self, id: UserId) -> Result<Option<String>, StoreError>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&mut self, id: UserId, hash: &str, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// When a user's password was last set (`None`: never changed since creation).
    async fn password_changed_at(&mut self, id: UserId) -> Result<Option<jiff::Timestamp>, StoreError>;
    /// Users in id order, optionally of one agency.
    async fn list_users(
        &mut self,
        agency: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
    /// Replaces a user's display name, unit, roles and `updated_at`.
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
    /// Disables or enables a user.
    async fn set_user_disabled(&mut self, id: UserId, disabled: bool, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// How many users exist.
    async fn count_users(&mut self) -> Result<u64, StoreError>;

    /// Sets (or replaces) an agency's webhook URL and sealed secret.
    async fn set_webhook(
        &mut self,
        agency: AgencyId,
        url: &str,
        secret: &[u8],
        at: jiff::Timestamp,
    ) -> Result<(), StoreError>;
    /// An agency's webhook: `(url, sealed secret)`.
    async fn find_webhook(&mut self, agency: AgencyId) -> Result<Option<(String, Vec<u8>)>, StoreError>;
}
