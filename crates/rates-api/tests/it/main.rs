//! Integration tests: the real app on an ephemeral port, over a temporary database filled
//! through rates-store, checked over real HTTP.

mod browser;
mod helpers;

mod as_of;
mod auth;
mod caching;
mod concurrency;
mod cors;
mod errors;
mod fixer_api;
mod fluctuation;
mod formats;
mod operations;
mod outage;
mod page;
mod routes;
mod whole_history;
