//! Newtype identifiers. Each kind of object has its own id type so that an
//! agency id can never be passed where a user id is expected. Ids are UUIDv7:
//! time-ordered (so keyset pagination by id follows creation order) and not
//! guessable from one another.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an existing UUID (for storage layers).
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies an agency.
    AgencyId
);
id_type!(
    /// Identifies a user account.
    UserId
);
id_type!(
    /// Identifies an operation.
    OperationId
);
id_type!(
    /// Identifies a result record (all its versions share it).
    ResultId
);
id_type!(
    /// Identifies a tally.
    TallyId
);
id_type!(
    /// Identifies a release (a draft, and the version it becomes).
    ReleaseId
);
id_type!(
    /// Identifies a registered event (the core's, stable; the store's own
    /// compact key is another thing, see `store::EventChange::key`).
    EventId
);
id_type!(
    /// Identifies a conflict between two events.
    ConflictId
);
id_type!(
    /// Identifies a registered subject (the core's; the store's own compact
    /// key is another thing, see `store::SubjectChange::key`).
    SubjectId
);
id_type!(
    /// Identifies a match between two subjects.
    MatchId
);
id_type!(
    /// Identifies an API token (never its secret, which is stored hashed).
    TokenId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_text_form() {
        let id = AgencyId::new_v7();
        let back: AgencyId = id.to_string().parse().unwrap();
        assert_eq!(id, back);
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a = OperationId::new_v7();
        let b = OperationId::new_v7();
        assert!(a.to_string() < b.to_string());
    }
}
