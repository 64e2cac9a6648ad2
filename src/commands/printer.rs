//! All terminal output goes through [`Printer`]: one JSON document on stdout with
//! `--json`, human text otherwise, progress and notes on stderr only when a person is
//! watching.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::cli::GlobalArgs;
use crate::platform::error::{code_of, split_hint};
use crate::release::download::Progress;
use crate::report::{CommandName, Document, ErrorInfo, Failure, Report, SCHEMA_VERSION};

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// A person is at a terminal: prompts and progress bars are allowed.
    pub interactive: bool,
}

/// What a command produced.
pub struct Output {
    pub report: Report,
    pub human: String,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        let interactive = !global.json
            && !ci
            && std::io::stderr().is_terminal()
            && std::io::stdin().is_terminal();
        Self {
            json: global.json,
            quiet: global.quiet,
            verbose: global.verbose,
            interactive,
        }
    }

    /// A step in progress, for people ("Installing 1.2.3 ..."). Never on stdout.
    pub fn step(&self, msg: impl AsRef<str>) {
        if !self.quiet && !self.json {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// Detail shown with --verbose.
    pub fn detail(&self, msg: impl AsRef<str>) {
        if self.verbose && !self.json {
            eprintln!("  {}", msg.as_ref());
        }
    }

    /// A warning: shown unless --quiet, also in JSON mode (on stderr).
    pub fn warn(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("warning: {}", msg.as_ref());
        }
    }

    pub fn emit(&self, out: Output) -> ExitCode {
        let ok = out.report.ok();
        if self.json {
            print_json(&Document::Report(Box::new(out.report)));
        } else if !self.quiet || !ok {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(out.human.as_bytes());
            if !out.human.ends_with('\n') {
                let _ = stdout.write_all(b"\n");
            }
        }
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    pub fn fail(&self, command: CommandName, err: &anyhow::Error) -> ExitCode {
        let (message, hint) = split_hint(err);
        // Usage errors found after parsing exit like clap's own.
        let status = if code_of(err) == "usage" { 2 } else { 1 };
        if self.json {
            print_json(&Document::Failure(Failure {
                schema_version: SCHEMA_VERSION,
                command,
                ok: false,
                error: ErrorInfo {
                    code: code_of(err).to_string(),
                    message,
                    hint,
                },
            }));
        } else {
            let mut text = format!("error: {message}\n");
            if let Some(h) = hint {
                for line in h.lines() {
                    text.push_str(&format!("help: {line}\n"));
                }
            }
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        ExitCode::from(status)
    }

    /// A progress bar on stderr when a person watches, nothing otherwise.
    pub fn progress(&self) -> Box<dyn Progress> {
        if self.interactive && !self.quiet {
            Box::new(BarProgress(indicatif::ProgressBar::hidden()))
        } else {
            Box::new(crate::release::download::NoProgress)
        }
    }
}

fn print_json(doc: &Document) {
    let mut text = serde_json::to_string_pretty(doc).expect("reports serialize");
    text.push('\n');
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

struct BarProgress(indicatif::ProgressBar);

impl Progress for BarProgress {
    fn start(&self, label: &str, total: Option<u64>) {
        use indicatif::{ProgressDrawTarget, ProgressStyle};
        self.0.set_draw_target(ProgressDrawTarget::stderr());
        match total {
            Some(t) => {
                self.0.set_length(t);
                self.0.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
            }
            None => self.0.set_style(
                ProgressStyle::with_template("{msg} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        }
        let name = label.rsplit('/').next().unwrap_or(label).to_string();
        self.0.set_message(format!("Downloading {name}"));
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
