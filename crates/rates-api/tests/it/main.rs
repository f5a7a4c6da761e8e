//! Integration tests: the real app on an ephemeral port, over a temporary database filled
//! through rates-store, checked over real HTTP.

mod browser;
mod helpers;

mod auth;
mod caching;
mod concurrency;
mod cors;
mod errors;
mod fixer_api;
mod outage;
mod page;
mod routes;
