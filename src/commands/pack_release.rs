//! `pack-release` (hidden): the Rust half of scripts/build-release.sh.

use std::process::ExitCode;

use crate::cli::PackReleaseArgs;
use crate::commands::printer::Printer;
use crate::release::{assemble, bundle::HOST_TARGET};

pub fn run(args: &PackReleaseArgs, printer: &Printer) -> ExitCode {
    let version = args
        .release_version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| HOST_TARGET.to_string());
    match assemble::assemble(
        &args.binary,
        &args.out,
        &version,
        &target,
        args.base_url.as_deref(),
    ) {
        Ok(a) => {
            if !printer.quiet {
                println!(
                    "release {} for {} in {}",
                    a.manifest.version,
                    target,
                    a.dir.display()
                );
                println!("  {}", a.bundle.display());
                println!("  {}", a.binary.display());
                println!("  {}", a.dir.join("SHA256SUMS").display());
                println!(
                    "  {} (valid against release-manifest.schema.json)",
                    a.dir.join("release-manifest.json").display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
