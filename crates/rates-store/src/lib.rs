//! Storage of rate tables in SQLite or PostgreSQL through diesel, with embedded migrations.
#![deny(missing_docs)]
