//! The one settings type of the service, loaded from defaults, files, .env, environment and flags.
#![deny(missing_docs)]
