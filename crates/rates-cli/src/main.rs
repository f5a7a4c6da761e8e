//! The rates-cli binary: migrate, ingest, import-ecb and API keys.

fn main() {}
