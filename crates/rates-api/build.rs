//! Tells the integration tests whether Debian's `chromium` and `chromedriver` are installed: the
//! overview page's browser tests are `ignored` (the summary shows them, with the reason) when
//! they are not, instead of installing them or passing without them.
//! `RATES_TEST_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs both) makes them run, and
//! fail, when either is missing.
//!
//! Likewise `rates_test_fixer_npm`: npm's `fixer-api` package, the third-party Fixer client the
//! `/api` tests run against a live server, installed by `.ci/run` into the directory it names in
//! `RATES_TEST_FIXER_NPM_DIR` (`RATES_TEST_REQUIRE_FIXER_NPM=1` makes the test run, and fail,
//! without it).
//!
//! Only the tests read these cfgs; the library is the same either way. The
//! `rates_test_postgres` cfg does the same for PostgreSQL (see `rates-store/postgres_test_cfg.rs`).

use std::path::Path;

include!("../rates-store/postgres_test_cfg.rs");

/// Where Debian's `chromium` and `chromium-driver` packages put the two programs.
const BROWSER: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rates_test_browser)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../rates-store/postgres_test_cfg.rs");
    postgres_test_cfg();
    println!("cargo::rerun-if-env-changed=RATES_TEST_REQUIRE_BROWSER");
    // Installing or removing a package changes /usr/bin, which runs this script again.
    if Path::new("/usr/bin").is_dir() {
        println!("cargo::rerun-if-changed=/usr/bin");
    }
    println!("cargo::rustc-check-cfg=cfg(rates_test_fixer_npm)");
    println!("cargo::rerun-if-env-changed=RATES_TEST_FIXER_NPM_DIR");
    println!("cargo::rerun-if-env-changed=RATES_TEST_REQUIRE_FIXER_NPM");
    let npm_installed =
        std::env::var_os("RATES_TEST_FIXER_NPM_DIR").is_some_and(|dir| !dir.is_empty());
    let npm_required =
        std::env::var_os("RATES_TEST_REQUIRE_FIXER_NPM").is_some_and(|value| !value.is_empty());
    if npm_installed || npm_required {
        println!("cargo::rustc-cfg=rates_test_fixer_npm");
    }
    let installed = BROWSER.iter().all(|program| Path::new(program).is_file());
    let required =
        std::env::var_os("RATES_TEST_REQUIRE_BROWSER").is_some_and(|value| !value.is_empty());
    if installed || required {
        println!("cargo::rustc-cfg=rates_test_browser");
    }
}
