//! Integration tests of rates-server: the [`rates_server::Application`] in-process on port-0
//! listeners (`app`, and most of `deployment`), and the binary as real processes where only a
//! process shows the behaviour: signals, exit status, the log on stderr (`process`).

mod app;
mod deployment;
mod helpers;
mod process;
mod read_through;
