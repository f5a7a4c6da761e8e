//! The ingest lease: a lease in the one-row table `ingest_lock` (hence the method names), so two
//! ingests (a scheduled one and a manual `rates-cli ingest`, possibly in different processes or
//! hosts) never run in the same interval. Its companion, the run lock held while an ingest runs,
//! is in `ingest_run_lock`.

use std::time::Duration;

use diesel::prelude::*;
use time::PrimitiveDateTime;

use crate::error::StoreError;
use crate::records::IngestLockHolder;
use crate::schema::ingest_lock;
use crate::store::Store;
use crate::timestamps;

const LOCK_ROW: i32 = 1;

impl Store {
    /// Takes the ingest lock for `holder` for `ttl`, in one atomic statement. Succeeds when the
    /// lock is free, expired, or already held by `holder` (which renews it). `Ok(false)` when
    /// someone else holds it.
    pub fn try_acquire_ingest_lock(&self, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        if holder.is_empty() {
            return Err(StoreError::InvalidInput {
                reason: "the ingest lock holder name must not be empty".to_owned(),
            });
        }
        let now = timestamps::now();
        let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX);
        let expires = now.checked_add(ttl).unwrap_or(PrimitiveDateTime::MAX);
        let updated = with_connection!(self, |conn| {
            diesel::update(
                ingest_lock::table
                    .filter(ingest_lock::id.eq(LOCK_ROW))
                    .filter(
                        ingest_lock::holder
                            .is_null()
                            .or(ingest_lock::expires_at.lt(now))
                            .or(ingest_lock::holder.eq(holder)),
                    ),
            )
            .set((
                ingest_lock::holder.eq(Some(holder)),
                ingest_lock::acquired_at.eq(Some(now)),
                ingest_lock::expires_at.eq(Some(expires)),
            ))
            .execute(conn)
            .map_err(StoreError::query("acquiring the ingest lock"))
        })?;
        Ok(updated == 1)
    }

    /// Releases the ingest lock if `holder` holds it; `Ok(false)` otherwise.
    pub fn release_ingest_lock(&self, holder: &str) -> Result<bool, StoreError> {
        let updated = with_connection!(self, |conn| {
            diesel::update(
                ingest_lock::table
                    .filter(ingest_lock::id.eq(LOCK_ROW))
                    .filter(ingest_lock::holder.eq(holder)),
            )
            .set((
                ingest_lock::holder.eq(None::<String>),
                ingest_lock::acquired_at.eq(None::<PrimitiveDateTime>),
                ingest_lock::expires_at.eq(None::<PrimitiveDateTime>),
            ))
            .execute(conn)
            .map_err(StoreError::query("releasing the ingest lock"))
        })?;
        Ok(updated == 1)
    }

    /// Who holds the ingest lock now, if anyone (an expired lease counts as free).
    pub fn ingest_lock_holder(&self) -> Result<Option<IngestLockHolder>, StoreError> {
        type Row = (
            Option<String>,
            Option<PrimitiveDateTime>,
            Option<PrimitiveDateTime>,
        );
        let row: Option<Row> = with_connection!(self, |conn| {
            ingest_lock::table
                .filter(ingest_lock::id.eq(LOCK_ROW))
                .select((
                    ingest_lock::holder,
                    ingest_lock::acquired_at,
                    ingest_lock::expires_at,
                ))
                .first(conn)
                .optional()
                .map_err(StoreError::query("reading the ingest lock"))
        })?;
        let now = timestamps::now();
        Ok(match row {
            Some((Some(holder), Some(acquired_at), Some(expires_at))) if expires_at >= now => {
                Some(IngestLockHolder {
                    holder,
                    acquired_at: timestamps::loaded(acquired_at),
                    expires_at: timestamps::loaded(expires_at),
                })
            }
            _ => None,
        })
    }
}
