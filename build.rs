//! Records the target triple so the binary can tell which release bundles fit it.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=LLM_CLI_GATEWAY_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
}
