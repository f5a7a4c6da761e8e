// Included (`include!`) by the build script of every crate whose tests use
// `rates_store::testing::TestDatabase`, so that they all decide the same way.
//
// Sets the `rates_test_postgres` cfg when the PostgreSQL tests are to run: `RATES_TEST_POSTGRES_URL`
// is set, or `RATES_TEST_REQUIRE_POSTGRES=1` (which `.ci/run` sets, and which fails them when the
// URL is missing). Without it, the tests that exercise PostgreSQL alone are `ignored` with the
// reason, so cargo's summary shows the skip instead of counting them as passes. Only tests read
// the cfg; the libraries and binaries are the same either way.

/// Prints the cargo directives described above.
fn postgres_test_cfg() {
    println!("cargo::rustc-check-cfg=cfg(rates_test_postgres)");
    println!("cargo::rerun-if-env-changed=RATES_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=RATES_TEST_REQUIRE_POSTGRES");
    let url_set = std::env::var("RATES_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty());
    let required = std::env::var("RATES_TEST_REQUIRE_POSTGRES")
        .is_ok_and(|value| matches!(value.trim(), "1" | "true"));
    if url_set || required {
        println!("cargo::rustc-cfg=rates_test_postgres");
    }
}
