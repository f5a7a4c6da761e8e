//! PostgreSQL over TLS: libpq is built with OpenSSL, so `sslmode=require` encrypts every pooled
//! session (checked in `pg_stat_ssl`) and `verify-ca` checks the server's certificate.
//!
//! They run against the server of `RATES_TEST_POSTGRES_URL` (ignored, with the reason, when it is
//! not set), which needs `ssl = on`; the CA test also needs Debian's snakeoil certificate, the one
//! that server uses. Without either they print why they did not check anything and pass, unless
//! `RATES_TEST_REQUIRE_POSTGRES=1` (as under `.ci/run`) makes that a failure.

use std::error::Error;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use rates_store::testing::{postgres_required, TestDatabase, REQUIRE_POSTGRES_VAR};
use rates_store::{Store, StoreError};

use crate::helpers::TestResult;

/// The certificate the local PostgreSQL serves (Debian's default `ssl_cert_file`).
const SERVER_CERTIFICATE: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// A self-signed CA that signed nothing the server has.
const UNRELATED_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/unrelated-ca.pem");

#[derive(QueryableByName)]
struct SslSetting {
    #[diesel(sql_type = Text)]
    ssl: String,
}

#[derive(QueryableByName)]
struct Sessions {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = Bool)]
    all_encrypted: bool,
    #[diesel(sql_type = Bool)]
    any_encrypted: bool,
}

/// A fresh database on a server that has TLS on, or `None` after printing why not.
fn database_with_tls() -> Result<Option<TestDatabase>, Box<dyn Error>> {
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(None);
    };
    let mut connection = PgConnection::establish(&with_query(database.url(), "sslmode=disable"))?;
    let setting: SslSetting = diesel::sql_query("SHOW ssl").get_result(&mut connection)?;
    if setting.ssl != "on" {
        return skip_or_fail("the PostgreSQL server has ssl = off");
    }
    Ok(Some(database))
}

fn skip_or_fail<T>(reason: &str) -> Result<Option<T>, Box<dyn Error>> {
    if postgres_required() {
        return Err(format!("{REQUIRE_POSTGRES_VAR}=1, but {reason}").into());
    }
    println!("skipped: {reason} (PostgreSQL TLS test not run)");
    Ok(None)
}

fn with_query(url: &str, parameters: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{parameters}")
}

/// The sessions of `database` opened under `application_name`, seen from a plain connection.
fn sessions(database: &TestDatabase, application_name: &str) -> Result<Sessions, Box<dyn Error>> {
    let mut connection = PgConnection::establish(&with_query(database.url(), "sslmode=disable"))?;
    Ok(diesel::sql_query(
        "SELECT count(*) AS count, \
                coalesce(bool_and(s.ssl), false) AS all_encrypted, \
                coalesce(bool_or(s.ssl), false) AS any_encrypted \
         FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = current_database() AND a.application_name = $1",
    )
    .bind::<Text, _>(application_name)
    .get_result(&mut connection)?)
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn sslmode_require_encrypts_every_session_of_the_pool() -> TestResult {
    let Some(database) = database_with_tls()? else {
        return Ok(());
    };
    let store = Store::open(
        &with_query(
            database.url(),
            "sslmode=require&application_name=rates_tls_require",
        ),
        Some(2),
    )?;
    assert!(store.health()?.is_none());
    let encrypted = sessions(&database, "rates_tls_require")?;
    assert!(encrypted.count >= 1, "no session of the store was found");
    assert!(encrypted.all_encrypted, "a session is not encrypted");

    // The check tells the difference: a session that asks for no TLS is seen as plain.
    let plain_store = Store::open(
        &with_query(
            database.url(),
            "sslmode=disable&application_name=rates_tls_disable",
        ),
        Some(1),
    )?;
    assert!(plain_store.health()?.is_none());
    let plain = sessions(&database, "rates_tls_disable")?;
    assert!(plain.count >= 1 && !plain.any_encrypted);
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn verify_ca_accepts_the_servers_certificate_and_refuses_another_ca() -> TestResult {
    let Some(database) = database_with_tls()? else {
        return Ok(());
    };
    if let Err(error) = std::fs::read(SERVER_CERTIFICATE) {
        return skip_or_fail::<()>(&format!("{SERVER_CERTIFICATE} cannot be read: {error}"))
            .map(drop);
    }
    let store = Store::open(
        &with_query(
            database.url(),
            &format!(
                "sslmode=verify-ca&sslrootcert={SERVER_CERTIFICATE}&application_name=rates_tls_ca"
            ),
        ),
        Some(1),
    )?;
    assert!(store.health()?.is_none());
    let verified = sessions(&database, "rates_tls_ca")?;
    assert!(verified.count >= 1 && verified.all_encrypted);

    let error = Store::open(
        &with_query(
            database.url(),
            &format!("sslmode=verify-ca&sslrootcert={UNRELATED_CA}"),
        ),
        Some(1),
    )
    .err()
    .ok_or("a server certificate signed by another CA was accepted")?;
    assert!(matches!(error, StoreError::Connect { .. }), "{error}");
    assert!(
        error.to_string().contains("certificate verify failed"),
        "{error}"
    );
    Ok(())
}
