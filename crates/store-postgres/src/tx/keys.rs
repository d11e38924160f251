//! The queries of data keys: stored wrapped, rewrapped on rotation, destroyed.

use async_trait::async_trait;
use jiff::Timestamp;
use taskforce_core::store::{KeyStore, StoreError, StoredDataKey};

use crate::codec::{map_err, parse_ts, ts};

use super::{PgTx, R, get};

#[async_trait]
impl KeyStore for PgTx {
    async fn data_keys(&mut self, scope: Option<&str>) -> R<Vec<StoredDataKey>> {
        let rows = match scope {
            Some(sc) => {
                sqlx::query(
                    "SELECT scope, version, kek_version, wrapped, created_at, destroyed_at FROM data_keys \
                 WHERE scope = $1 ORDER BY version",
                )
                .bind(sc)
                .fetch_all(&mut *self.tx)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT scope, version, kek_version, wrapped, created_at, destroyed_at FROM data_keys \
                 ORDER BY scope, version",
                )
                .fetch_all(&mut *self.tx)
                .await
            }
        }
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(StoredDataKey {
                    scope: get(r, "scope")?,
                    version: u32::try_from(get::<i64>(r, "version")?).unwrap_or(0),
                    kek_version: u32::try_from(get::<i64>(r, "kek_version")?).unwrap_or(0),
                    wrapped: get(r, "wrapped")?,
                    created_at: parse_ts(&get::<String>(r, "created_at")?)?,
                    destroyed_at: get::<Option<String>>(r, "destroyed_at")?.map(|s| parse_ts(&s)).transpose()?,
                })
            })
            .collect()
    }

    async fn insert_data_key(&mut self, k: &StoredDataKey) -> R<()> {
        sqlx::query(
            "INSERT INTO data_keys (scope, version, kek_version, wrapped, created_at, destroyed_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.scope)
        .bind(i64::from(k.version))
        .bind(i64::from(k.kek_version))
        .bind(&k.wrapped)
        .bind(ts(k.created_at))
        .bind(k.destroyed_at.map(ts))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn rewrap_data_key(&mut self, scope: &str, version: u32, kek_version: u32, wrapped: &[u8]) -> R<()> {
        let done = sqlx::query(
            "UPDATE data_keys SET kek_version = $1, wrapped = $2 \
             WHERE scope = $3 AND version = $4 AND wrapped IS NOT NULL",
        )
        .bind(i64::from(kek_version))
        .bind(wrapped)
        .bind(scope)
        .bind(i64::from(version))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("data key"));
        }
        Ok(())
    }

    async fn destroy_data_keys(&mut self, scope: &str, at: Timestamp) -> R<u64> {
        let done = sqlx::query(
            "UPDATE data_keys SET wrapped = NULL, destroyed_at = $1 WHERE scope = $2 AND wrapped IS NOT NULL",
        )
        .bind(ts(at))
        .bind(scope)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
