//! One module per command.

pub mod docs;
pub mod import_ecb;
pub mod ingest;
pub mod keys;
pub mod migrate;
