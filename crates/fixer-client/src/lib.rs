//! A typed, blocking client for the Fixer exchange-rate API, with a mock server for tests.
#![deny(missing_docs)]
