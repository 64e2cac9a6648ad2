//! The ground floor: helpers every part uses (atomic writes and modes, hashing, time,
//! build facts, bounded child processes, coded errors, fault injection for tests, the
//! log writer). It imports nothing of the project, so any part may depend on it.

pub mod bounded;
pub mod build;
pub mod error;
pub mod failpoint;
pub mod fsutil;
pub mod hash;
pub mod logfile;
pub mod time;
