//! Plans dates, fetches them from Fixer, validates and stores them, and reports what happened.
#![deny(missing_docs)]
