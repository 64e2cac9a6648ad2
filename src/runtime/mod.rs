//! The managed runtime: where files live, configuration, the token, the receipt, the
//! service backend and the health probe. Nothing here prints.

pub mod config;
pub mod health;
pub mod lock;
pub mod paths;
pub mod receipt;
pub mod service;
pub mod token;
