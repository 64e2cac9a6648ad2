//! One module per subcommand. Each exposes `run`, returning an [`Output`] whose report
//! becomes the `--json` document; expected outcomes ("already running", "nothing to do")
//! are reports, real failures are errors.

mod bridge;
pub(crate) mod common;
mod doctor;
mod install_bundle;
pub(crate) mod installation;
mod pack_release;
mod policy;
mod print_client_config;
pub mod printer;
mod repair;
mod serve;
mod setup;
mod start;
mod status;
mod stop;
mod uninstall;
mod upgrade;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::report::CommandName;
use crate::runtime::paths::Paths;
use printer::{Output, Printer};

/// What every command gets: where files are and how to talk to the user.
pub struct Ctx {
    pub paths: Paths,
    pub printer: Printer,
}

pub fn run(cli: Cli) -> ExitCode {
    let printer = Printer::new(&cli.global);
    let name = match &cli.command {
        Command::Serve(args) => return serve::run(args),
        Command::PackRelease(args) => return pack_release::run(args, &printer),
        Command::Bridge(args) => return bridge::run(args),
        Command::Setup(_) => CommandName::Setup,
        Command::InstallBundle(_) => CommandName::InstallBundle,
        Command::Upgrade(_) => CommandName::Upgrade,
        Command::Repair(_) => CommandName::Repair,
        Command::Start => CommandName::Start,
        Command::Stop => CommandName::Stop,
        Command::Status => CommandName::Status,
        Command::Uninstall(_) => CommandName::Uninstall,
        Command::PrintClientConfig(_) => CommandName::PrintClientConfig,
        Command::Doctor(_) => CommandName::Doctor,
        Command::Policy(_) => CommandName::Policy,
    };
    let result = Paths::resolve().and_then(|paths| {
        let ctx = Ctx { paths, printer };
        match &cli.command {
            Command::Setup(a) => block_on(setup::run(&ctx, a)),
            Command::InstallBundle(a) => block_on(install_bundle::run(&ctx, a)),
            Command::Upgrade(a) => block_on(upgrade::run(&ctx, a)),
            Command::Repair(a) => block_on(repair::run(&ctx, a)),
            Command::Start => start::run(&ctx),
            Command::Stop => stop::run(&ctx),
            Command::Status => status::run(&ctx),
            Command::Uninstall(a) => uninstall::run(&ctx, a),
            Command::PrintClientConfig(a) => print_client_config::run(&ctx, a),
            Command::Doctor(a) => block_on(doctor::run(&ctx, a)),
            Command::Policy(a) => policy::run(&ctx, a),
            Command::Serve(_) | Command::PackRelease(_) | Command::Bridge(_) => {
                unreachable!("dispatched above")
            }
        }
    });
    match result {
        Ok(out) => printer.emit(out),
        Err(e) => printer.fail(name, &e),
    }
}

/// The runtime for the long-running protocol commands (`serve`, `bridge`), which print
/// no report: a failure to build it is said on stderr and becomes exit status 1.
fn multi_thread_runtime(workers: Option<usize>) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: could not start the async runtime: {e}");
        ExitCode::from(1)
    })
}

/// Bootstrapper commands need async only for downloads; a current-thread runtime is
/// enough and starts in microseconds.
fn block_on<T>(fut: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fut)
}
