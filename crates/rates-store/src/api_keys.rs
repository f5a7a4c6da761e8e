//! API keys: stored by hash, listed, revoked, looked up, and their use recorded in batches.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use time::PrimitiveDateTime;

use crate::error::StoreError;
use crate::records::{ApiKeyRecord, ApiKeyUse};
use crate::schema::api_keys;
use crate::store::Store;
use crate::timestamps;

type ApiKeyRow = (
    i64,
    String,
    PrimitiveDateTime,
    Option<PrimitiveDateTime>,
    Option<PrimitiveDateTime>,
    i64,
);

fn record((id, name, created_at, last_used_at, revoked_at, use_count): ApiKeyRow) -> ApiKeyRecord {
    ApiKeyRecord {
        id,
        name,
        created_at: timestamps::loaded(created_at),
        last_used_at: last_used_at.map(timestamps::loaded),
        revoked_at: revoked_at.map(timestamps::loaded),
        use_count: u64::try_from(use_count).unwrap_or(0),
    }
}

macro_rules! api_key_columns {
    () => {
        (
            api_keys::id,
            api_keys::name,
            api_keys::created_at,
            api_keys::last_used_at,
            api_keys::revoked_at,
            api_keys::use_count,
        )
    };
}

impl Store {
    /// Stores a new key under `name`. Only the hash is stored: the caller hashes the key and
    /// shows it once. A hash already stored is a [`StoreError::Conflict`].
    pub fn insert_api_key(&self, name: &str, key_hash: &str) -> Result<ApiKeyRecord, StoreError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::InvalidInput {
                reason: "an API key needs a non-empty name".to_owned(),
            });
        }
        if key_hash.is_empty() {
            return Err(StoreError::InvalidInput {
                reason: "an API key hash must not be empty".to_owned(),
            });
        }
        let now = timestamps::now();
        let row: ApiKeyRow = with_connection!(self, |conn| {
            diesel::insert_into(api_keys::table)
                .values((
                    api_keys::name.eq(name),
                    api_keys::key_hash.eq(key_hash),
                    api_keys::created_at.eq(now),
                    api_keys::use_count.eq(0_i64),
                ))
                .returning(api_key_columns!())
                .get_result(conn)
                .map_err(|error| match error {
                    DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                        StoreError::Conflict {
                            what: "an API key with the same hash".to_owned(),
                        }
                    }
                    other => StoreError::from_diesel("storing an API key", other),
                })
        })?;
        Ok(record(row))
    }

    /// Every key, active or revoked, oldest first.
    pub fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows: Vec<ApiKeyRow> = with_connection!(self, |conn| {
            api_keys::table
                .select(api_key_columns!())
                .order(api_keys::id.asc())
                .load(conn)
                .map_err(StoreError::query("listing API keys"))
        })?;
        Ok(rows.into_iter().map(record).collect())
    }

    /// Revokes a key. `Ok(false)` when no active key has that id (unknown or already revoked).
    pub fn revoke_api_key(&self, id: i64) -> Result<bool, StoreError> {
        let now = timestamps::now();
        let revoked = with_connection!(self, |conn| {
            diesel::update(
                api_keys::table
                    .filter(api_keys::id.eq(id))
                    .filter(api_keys::revoked_at.is_null()),
            )
            .set(api_keys::revoked_at.eq(Some(now)))
            .execute(conn)
            .map_err(StoreError::query("revoking an API key"))
        })?;
        Ok(revoked == 1)
    }

    /// The active (not revoked) key with this hash, if any. One indexed query.
    pub fn find_active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row: Option<ApiKeyRow> = with_connection!(self, |conn| {
            api_keys::table
                .filter(api_keys::key_hash.eq(key_hash))
                .filter(api_keys::revoked_at.is_null())
                .select(api_key_columns!())
                .first(conn)
                .optional()
                .map_err(StoreError::query("looking up an API key"))
        })?;
        Ok(row.map(record))
    }

    /// Adds counted uses to keys and moves their last-used time forward (never backward), in
    /// one transaction. Unknown ids are ignored (the key may have been deleted meanwhile).
    pub fn record_api_key_use(&self, uses: &[ApiKeyUse]) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(uses.len());
        for &(id, last_used, count) in uses {
            let count = i64::try_from(count).map_err(|_| StoreError::InvalidInput {
                reason: format!("use count {count} for API key {id} is too large"),
            })?;
            rows.push((id, timestamps::stored(last_used), count));
        }
        in_transaction!(self, |conn| {
            for &(id, last_used, count) in &rows {
                diesel::update(api_keys::table.filter(api_keys::id.eq(id)))
                    .set(api_keys::use_count.eq(api_keys::use_count + count))
                    .execute(conn)
                    .map_err(StoreError::query("recording API key use"))?;
                diesel::update(
                    api_keys::table.filter(api_keys::id.eq(id)).filter(
                        api_keys::last_used_at
                            .is_null()
                            .or(api_keys::last_used_at.lt(last_used)),
                    ),
                )
                .set(api_keys::last_used_at.eq(Some(last_used)))
                .execute(conn)
                .map_err(StoreError::query("recording API key use"))?;
            }
            Ok(())
        })
    }
}
