//! Integration tests of the `rates-server` binary itself: start-up, request logging, start-up
//! failures and graceful shutdown, as real processes on loopback ports.

mod deployment;
mod helpers;
mod process;
