//! The `tollgate` binary's library half: configuration, CLI and server wiring, so tests can
//! start a real server in-process.

pub mod check;
pub mod cli;
pub mod config;
pub mod listener;
pub mod mail;
pub mod outbound;
pub mod server;
pub mod views;
