#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod error;
mod load;
mod shared;
mod snapshot;

pub use error::SnapshotError;
pub use shared::SharedSnapshot;
pub use snapshot::{Days, Found, NotHeld, Snapshot};
