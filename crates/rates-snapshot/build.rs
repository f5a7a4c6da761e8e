//! Tells the integration tests whether PostgreSQL is configured, as every crate whose tests use
//! `rates_store::testing::TestDatabase` does (see `rates-store/postgres_test_cfg.rs`).

include!("../rates-store/postgres_test_cfg.rs");

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=../rates-store/postgres_test_cfg.rs");
    postgres_test_cfg();
}
