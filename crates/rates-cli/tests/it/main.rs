//! End-to-end tests of the `rates-cli` binary: a real process, a mock Fixer, a real database.

mod helpers;
mod import_ecb;
mod ingest;
mod keys;
mod usage;
