//! Tells the integration tests whether nginx is installed: the tests that put nginx in front of
//! the server are `ignored` (the summary shows them, with the reason) when it is not, instead of
//! installing it or passing without it. `RATES_TEST_REQUIRE_NGINX=1` (set by `.ci/run`, which
//! installs nginx) makes them run, and fail, when nginx is missing.
//!
//! Only the tests read the `rates_test_nginx` cfg; the binary is the same either way. The
//! `rates_test_postgres` cfg does the same for PostgreSQL (see `rates-store/postgres_test_cfg.rs`).

use std::path::Path;

include!("../rates-store/postgres_test_cfg.rs");

/// Where Debian's package and a local build put nginx.
const NGINX_DIRS: [&str; 2] = ["/usr/sbin", "/usr/local/sbin"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rates_test_nginx)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../rates-store/postgres_test_cfg.rs");
    postgres_test_cfg();
    println!("cargo::rerun-if-env-changed=RATES_TEST_REQUIRE_NGINX");
    // Installing or removing nginx changes its directory, which runs this script again.
    for dir in NGINX_DIRS.iter().filter(|dir| Path::new(dir).is_dir()) {
        println!("cargo::rerun-if-changed={dir}");
    }
    let installed = NGINX_DIRS
        .iter()
        .any(|dir| Path::new(dir).join("nginx").is_file());
    let required =
        std::env::var_os("RATES_TEST_REQUIRE_NGINX").is_some_and(|value| !value.is_empty());
    if installed || required {
        println!("cargo::rustc-cfg=rates_test_nginx");
    }
}
