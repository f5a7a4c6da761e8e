//! Currencies, dates, rate tables, rebasing and conversion: the rules of the service, with no I/O.
#![deny(missing_docs)]
