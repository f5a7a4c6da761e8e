//! One module per command.

pub mod import_ecb;
pub mod ingest;
pub mod keys;
pub mod migrate;
