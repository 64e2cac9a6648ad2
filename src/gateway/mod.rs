//! The MCP gateway server (`llm-cli-gateway serve`).

pub mod gate;
pub mod http;
pub mod jobs;
pub mod listener;
pub mod process_info;
pub mod refusals;
pub mod server;
pub mod tools;
pub mod validation;
