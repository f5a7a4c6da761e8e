//! Rebuilds the crate when a migration changes, since `embed_migrations!` reads them at compile
//! time, and tells the tests whether PostgreSQL is configured (see `postgres_test_cfg.rs`).

include!("postgres_test_cfg.rs");

fn main() {
    println!("cargo::rerun-if-changed=../../migrations");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=postgres_test_cfg.rs");
    postgres_test_cfg();
}
