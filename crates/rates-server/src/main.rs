//! The rates-server binary: configuration, logging, the HTTP server and scheduled ingest.

fn main() {}
