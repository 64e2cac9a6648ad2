//! The MCP tools, one file per family. Each family is a `#[tool_router]` block (or, for
//! the provider tools, routes generated from the provider table); `Gateway::new` merges
//! them.

mod approvals;
pub mod cli;
pub mod doctor;
pub mod jobs;
pub mod models;
pub mod requests;
pub mod sessions;
pub mod validation;
pub mod view;
