#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod application;
pub mod log_queue;
pub mod logging;
mod read_through;
mod scheduler;
pub mod shutdown;

pub use application::{Application, SHUTDOWN_GRACE};
