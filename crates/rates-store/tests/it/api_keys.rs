//! API key storage.

use rates_store::testing::TestDatabase;
use rates_store::StoreError;
use time::macros::datetime;

use crate::helpers::TestResult;

backend_tests!(
    keys_are_found_by_hash_until_revoked,
    a_duplicate_hash_is_a_conflict,
    recorded_use_adds_counts_and_moves_last_used_forward,
);

fn keys_are_found_by_hash_until_revoked(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let key = store.insert_api_key("  dashboard ", "hash-1")?;
    assert_eq!(key.name, "dashboard");
    assert_eq!(key.use_count, 0);
    assert!(key.is_active());
    let other = store.insert_api_key("batch jobs", "hash-2")?;
    assert_ne!(key.id, other.id);

    assert_eq!(store.find_active_api_key("hash-1")?, Some(key.clone()));
    assert_eq!(store.find_active_api_key("unknown")?, None);

    assert!(store.revoke_api_key(key.id)?);
    assert!(!store.revoke_api_key(key.id)?, "already revoked");
    assert!(!store.revoke_api_key(9_999)?, "no such key");
    assert_eq!(store.find_active_api_key("hash-1")?, None);

    let listed = store.list_api_keys()?;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, key.id);
    assert!(listed[0].revoked_at.is_some());
    assert!(listed[1].is_active());
    assert!(matches!(
        store.insert_api_key(" ", "hash-3"),
        Err(StoreError::InvalidInput { .. })
    ));
    Ok(())
}

fn a_duplicate_hash_is_a_conflict(database: &TestDatabase) -> TestResult {
    let store = database.store();
    store.insert_api_key("first", "same-hash")?;
    let error = store.insert_api_key("second", "same-hash").unwrap_err();
    assert!(matches!(error, StoreError::Conflict { .. }), "{error}");
    assert_eq!(store.list_api_keys()?.len(), 1);
    Ok(())
}

fn recorded_use_adds_counts_and_moves_last_used_forward(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let key = store.insert_api_key("k", "hash")?;
    let later = datetime!(2026-11-01 12:00:00.5 UTC);
    let earlier = datetime!(2026-11-01 11:00:00 UTC);
    store.record_api_key_use(&[(key.id, later, 3)])?;
    store.record_api_key_use(&[(key.id, earlier, 2), (12_345, later, 1)])?;
    let stored = store.find_active_api_key("hash")?.ok_or("key")?;
    assert_eq!(stored.use_count, 5);
    assert_eq!(stored.last_used_at, Some(later));
    store.record_api_key_use(&[])?;
    Ok(())
}
