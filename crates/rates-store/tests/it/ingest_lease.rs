//! The ingest lease (the `ingest_lock` table).

use std::time::Duration;

use rates_store::testing::TestDatabase;

use crate::helpers::TestResult;

backend_tests!(
    only_one_holder_at_a_time,
    an_expired_lease_can_be_taken_over
);

fn only_one_holder_at_a_time(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let minute = Duration::from_secs(60);
    assert_eq!(store.ingest_lock_holder()?, None);
    assert!(store.try_acquire_ingest_lock("scheduler@host-a", minute)?);
    assert!(!store.try_acquire_ingest_lock("cli@host-b", minute)?);
    assert!(
        store.try_acquire_ingest_lock("scheduler@host-a", minute)?,
        "renewal"
    );
    let holder = store.ingest_lock_holder()?.ok_or("held")?;
    assert_eq!(holder.holder, "scheduler@host-a");
    assert!(holder.expires_at > holder.acquired_at);

    assert!(!store.release_ingest_lock("cli@host-b")?);
    assert!(store.release_ingest_lock("scheduler@host-a")?);
    assert_eq!(store.ingest_lock_holder()?, None);
    assert!(store.try_acquire_ingest_lock("cli@host-b", minute)?);
    assert!(store.try_acquire_ingest_lock("", minute).is_err());
    Ok(())
}

fn an_expired_lease_can_be_taken_over(database: &TestDatabase) -> TestResult {
    let store = database.store();
    assert!(store.try_acquire_ingest_lock("crashed", Duration::from_millis(1))?);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(store.ingest_lock_holder()?, None);
    assert!(store.try_acquire_ingest_lock("next", Duration::from_secs(60))?);
    assert!(!store.release_ingest_lock("crashed")?);
    Ok(())
}
