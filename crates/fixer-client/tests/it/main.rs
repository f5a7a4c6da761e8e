//! Integration tests: the client against the mock Fixer over real HTTP on 127.0.0.1.

mod endpoints;
mod errors;
mod helpers;
mod mock_server;
mod redaction;
mod retries;
