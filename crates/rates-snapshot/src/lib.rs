#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod error;
mod history;
mod load;
mod refresh;
mod shared;
mod snapshot;

pub use error::SnapshotError;
pub use history::{AsOfFound, HeldValue};
pub use refresh::RefreshConfig;
pub use shared::{ApiKeys, DatabaseState, SharedSnapshot, SyncStatus};
pub use snapshot::{Days, Found, NotHeld, Snapshot};
