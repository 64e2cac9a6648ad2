//! Facts about this build that every part may need.

/// The target triple this binary was built for (set by build.rs).
pub const HOST_TARGET: &str = env!("LLM_CLI_GATEWAY_TARGET");
/// The product's name: binary, bundle prefix, service and client-entry names.
pub const PRODUCT: &str = "llm-cli-gateway";
/// This binary's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Environment variable that relocates all of an installation's files under one directory
/// (tests, CI, portable installs).
pub const HOME_ENV: &str = "LLM_CLI_GATEWAY_HOME";
