//! llm-cli-gateway: a bootstrapper that installs a verified gateway bundle and runs it,
//! and the MCP gateway server itself.

pub mod bridge;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod doctor;
pub mod gateway;
pub mod platform;
pub mod policy;
pub mod providers;
pub mod release;
pub mod report;
pub mod runtime;
pub mod store;
