//! The HTTP API: actix-web routes, error mapping, authentication and caching.
#![deny(missing_docs)]
