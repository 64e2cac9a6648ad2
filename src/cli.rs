//! Command-line definition. Doc comments are the `--help` text.

use std::path::PathBuf;

pub use crate::clients::Client;
use crate::policy::Level;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Install and run a personal MCP gateway to your AI coding CLIs.
///
/// One local endpoint through which any MCP client can ask Claude Code, Codex, Gemini CLI,
/// Grok and Mistral Vibe for second opinions. Start with `llm-cli-gateway setup`.
///
/// Files live under the platform's config and data directories, or all under
/// $LLM_CLI_GATEWAY_HOME when it is set.
#[derive(Debug, Parser)]
#[command(
    name = "llm-cli-gateway",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Exit status: 0 success, 1 failure, 2 usage error.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Print exactly one JSON document on stdout (schema: status.schema.json); no progress bars or prompts.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail about each step.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create config and token, install the gateway, start it and wait until healthy.
    ///
    /// Installs from --bundle when given, else the gateway embedded in this binary (no
    /// network needed). Safe to re-run: what is already in place is left alone.
    Setup(SetupArgs),
    /// Verify and install one gateway bundle as a new version.
    ///
    /// Requires a checksum: --sha256, or --checksums/--manifest to take it from the
    /// release's SHA256SUMS or release-manifest.json (both are cross-checked when given).
    /// A running gateway is restarted onto the new version; if it does not come up
    /// healthy the previous version is restored.
    InstallBundle(InstallBundleArgs),
    /// Upgrade to a newer release: verify, switch, restart, roll back if unhealthy.
    ///
    /// Reads the release manifest (schema-checked, cross-checked with SHA256SUMS),
    /// compares versions, installs the new bundle, restarts the gateway and waits for
    /// /healthz to report the new version. If it does not, the previous version is
    /// restored and running again, and upgrade exits 1. Up to date: nothing changes.
    #[command(disable_version_flag = true)]
    Upgrade(UpgradeArgs),
    /// Find and fix drift: missing dirs or token, loose modes, a missing or stale service
    /// definition or environment, a broken `current`, tampered installed files, a dead
    /// gateway.
    ///
    /// Tampered files are reinstalled from the verified archive in the cache (or
    /// re-downloaded and verified). The service environment file is refreshed with the
    /// PATH of the shell running repair, so newly installed provider CLIs are found.
    Repair(RepairArgs),
    /// Start the gateway and wait until /healthz answers.
    Start,
    /// Stop the gateway and wait until its process is gone (SIGTERM, then SIGKILL).
    Stop,
    /// Show version, backend, pid, uptime, endpoint, health and token state.
    ///
    /// Exits 0 when the gateway is installed and healthy, 1 otherwise.
    Status,
    /// Remove the gateway: without --yes, only list what would be removed.
    ///
    /// Removes exactly what the install receipt says we created. Provider CLI credentials
    /// and client configs are never touched.
    Uninstall(UninstallArgs),
    /// Print (or, with --write, merge in) the configuration for an MCP client.
    ///
    /// By default clients reach the gateway through `llm-cli-gateway bridge`, a stdio
    /// server that forwards to the running gateway and reads the token from its 0600 file,
    /// so the token never lands in a client's config file. `--transport http` prints the
    /// direct HTTP form instead (the token as an environment reference or a placeholder).
    PrintClientConfig(ClientConfigArgs),
    /// Check everything a working setup needs and say what to do next.
    ///
    /// System, installed version and file integrity, service state, endpoint and exposure
    /// (local only, LAN, tunnel, reverse proxy, misconfigured), token, each provider CLI
    /// (found, version, logged in) and each MCP client's config. Probes run concurrently,
    /// each with a timeout, so doctor takes about as long as its slowest probe. Never
    /// prints a secret. Exits 1 when something blocks use.
    Doctor(DoctorArgs),
    /// Show or set the operator's policy: what connected MCP clients may make the CLIs do.
    ///
    /// Without options, shows the policy in force: the level, the workspace roots (as
    /// written in config.toml and as resolved), the Codex `-c` keys callers may set,
    /// whether prompts are recorded, and what each level allows per provider.
    ///
    /// With options, validates the new `[policy]` exactly as the gateway does at start,
    /// writes it to config.toml (everything else in the file is kept as written) and
    /// restarts a running gateway so it applies at once; an invalid value changes
    /// nothing. Setting values that are already in force changes nothing.
    #[command(
        after_help = "Run `llm-cli-gateway policy --help` for what each level allows per provider.",
        after_long_help = policy_help()
    )]
    Policy(PolicyArgs),
    /// Speak MCP on stdin/stdout and forward every message to the running gateway.
    ///
    /// For clients that start local (stdio) servers, such as Claude Desktop: they run
    /// `llm-cli-gateway bridge` and share the one gateway, and its job store, with every
    /// other client. The token is read from its 0600 file, never from the client's config.
    ///
    /// The gateway must be running (`llm-cli-gateway start`). While it is down, each
    /// request gets a JSON-RPC error saying so and the bridge keeps going; after a gateway
    /// restart or a token rotation it reconnects by itself. It exits when stdin closes.
    /// Exit status 78 means it could not start (not set up, or an unsafe token file).
    #[command(
        after_help = "Client config entry: {\"command\": \"<data dir>/current/bin/llm-cli-gateway\", \"args\": [\"bridge\"]}\n(`llm-cli-gateway print-client-config --write` adds it for you)."
    )]
    Bridge(BridgeArgs),
    /// Run the gateway server (what the service runs).
    Serve(ServeArgs),
    /// Assemble release assets from a built binary (used by scripts/build-release.sh).
    #[command(hide = true)]
    PackRelease(PackReleaseArgs),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Do not ask; accept the defaults (also implied by --json).
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Install this bundle (URL or path) instead of the embedded one; needs a checksum option.
    #[arg(long, value_name = "URL|PATH")]
    pub bundle: Option<String>,
    #[command(flatten)]
    pub checksum: ChecksumArgs,
    /// Install but do not start the gateway.
    #[arg(long)]
    pub no_start: bool,
    /// How the gateway runs: auto (a working systemd/launchd service manager, else
    /// process), process (our own supervisor), systemd, systemd-user, systemd-system,
    /// launchd (windows is refused: not available yet) [default: the configured one,
    /// else auto].
    #[arg(long, value_name = "BACKEND", env = "LLM_CLI_GATEWAY_SERVICE_BACKEND")]
    pub service_backend: Option<String>,
    /// Install a system-level service (root) instead of a per-user one.
    #[arg(long)]
    pub system: bool,
}

/// Where the gateway listens; unset options keep the configured value.
#[derive(Debug, Args, Default, Clone)]
pub struct EndpointArgs {
    /// Address to listen on [default: 127.0.0.1, or the configured one].
    #[arg(long)]
    pub host: Option<String>,
    /// TCP port [default: 3333, or the configured one].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// MCP endpoint path [default: /mcp, or the configured one].
    #[arg(long)]
    pub path: Option<String>,
}

#[derive(Debug, Args, Default, Clone)]
pub struct ChecksumArgs {
    /// Expected SHA-256 of the bundle (64 hex digits, any case).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// URL or path of a SHA256SUMS file listing the bundle.
    #[arg(long, value_name = "URL")]
    pub checksums: Option<String>,
    /// URL or path of a release-manifest.json listing the bundle.
    #[arg(long, value_name = "URL")]
    pub manifest: Option<String>,
}

impl ChecksumArgs {
    /// The flags as the release resolver takes them.
    pub fn pins(&self) -> crate::release::resolve::Pins {
        crate::release::resolve::Pins {
            sha256: self.sha256.clone(),
            checksums: self.checksums.clone(),
            manifest: self.manifest.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct InstallBundleArgs {
    /// Bundle URL or path. May be omitted with --manifest (the manifest's bundle for this machine is used).
    #[arg(value_name = "URL|PATH")]
    pub source: Option<String>,
    #[command(flatten)]
    pub checksum: ChecksumArgs,
    /// Do not restart a running gateway onto the new version.
    #[arg(long)]
    pub no_restart: bool,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// List what is wrong; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Only report whether a newer release exists; change nothing.
    #[arg(long)]
    pub check: bool,
    /// Install exactly this version (the manifest must name it).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// Release manifest URL or path, or the release directory holding release-manifest.json
    /// [default: `release_url` from config.toml, else the project's latest release].
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
    /// Allow installing a version older than the installed one.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Install but do not restart a running gateway.
    #[arg(long)]
    pub no_restart: bool,
    /// Also replace this bootstrapper binary with the release's verified one (atomic
    /// rename next to it).
    #[arg(long = "self")]
    pub self_update: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Really remove (without it, nothing changes).
    #[arg(long, short)]
    pub yes: bool,
    /// Leave the entries `print-client-config --write` added to client config files.
    #[arg(long)]
    pub keep_client_configs: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Transport {
    /// `llm-cli-gateway bridge` over stdio: the token stays in its 0600 file.
    Bridge,
    /// Streamable HTTP straight to the gateway, with an Authorization header.
    Http,
}

#[derive(Debug, Args)]
pub struct ClientConfigArgs {
    /// Which client to configure.
    #[arg(long, value_enum, default_value = "generic")]
    pub client: Client,
    /// How the client connects [default: bridge, except http for generic].
    #[arg(long, value_enum)]
    pub transport: Option<Transport>,
    /// Merge the entry into the client's config file (backup first, everything else kept;
    /// a second run changes nothing). Writes the bridge form.
    #[arg(long)]
    pub write: bool,
    /// Put the real token in the snippet instead of a placeholder (HTTP forms only).
    #[arg(long)]
    pub show_token: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Also send a HEAD request to the configured public URL.
    #[arg(long)]
    pub check_public_url: bool,
    /// Give each probe this long before calling it timed out.
    #[arg(long, value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Set the level: strict (read-only runs), balanced (edits inside the workspace
    /// roots; the default) or permissive (everything the CLIs offer).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<Level>,
    /// Set the workspace roots, replacing the list (repeat for several). Every path a
    /// caller passes must resolve inside one. `~` and `~/…` mean your home directory;
    /// other relative paths are taken from the current directory. Each must exist.
    #[arg(long, value_name = "DIR", conflicts_with = "add_workspace_root")]
    pub workspace_root: Vec<PathBuf>,
    /// Add a workspace root to the list (repeatable); one already covered by an equal
    /// root changes nothing.
    #[arg(long, value_name = "DIR")]
    pub add_workspace_root: Vec<PathBuf>,
    /// Keep prompt previews in the decision records (`approval_list`); when false (the
    /// default) they are redacted and only the prompt's SHA-256 is kept.
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub record_prompts: Option<bool>,
}

impl PolicyArgs {
    /// Whether any option asks to change the policy.
    pub fn sets_anything(&self) -> bool {
        self.level.is_some()
            || !self.workspace_root.is_empty()
            || !self.add_workspace_root.is_empty()
            || self.record_prompts.is_some()
    }
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse::<Level>().map_err(|e| e.to_string())
}

/// The long help of `policy`: the levels table, generated from the providers' own mode
/// tables (the data the gateway decides with), and what callers can and cannot change.
fn policy_help() -> String {
    let levels: String = Level::ALL
        .iter()
        .map(|l| format!("  {:<11} {}\n", l.as_str(), l.summary()))
        .collect();
    format!(
        "Levels ([policy] level in config.toml; default balanced):\n{levels}\n\
         What each level allows, per provider (request parameter: values; each level also \
         allows everything the levels before it do):\n\n{}\n\n\
         Workspace roots ([policy] workspace_roots; default: your home directory): cwd, added \
         and included directories and every other path a caller passes must resolve, \
         symlinks followed, inside a root, and never in, at or above the gateway's own \
         directories (its token, config and job store), whatever the level.\n\n\
         Callers can only tighten: a request's approvalPolicy (strict, balanced, permissive) \
         lowers the level for that request and never raises it. A request the level does \
         not allow is refused before any process starts, with an error naming the \
         parameter, the level and the [policy] key that would allow it. When the MCP client \
         supports elicitation, a request that only the level or a root stands in the way of is \
         put to you first: accepting runs it once; declining, cancelling or not answering \
         refuses it.\n\n\
         Other [policy] keys: codex_config_keys = [\"key\", \"prefix.*\"] adds Codex -c keys \
         callers may set (edit config.toml; the hard denylist above still applies), \
         record_prompts = true|false.\n\n\
         The gateway reads the policy at start; setting it here restarts a running gateway.\n\
         Examples:\n  \
         llm-cli-gateway policy --level strict\n  \
         llm-cli-gateway policy --workspace-root ~/src --workspace-root /srv/repos\n  \
         llm-cli-gateway policy --add-workspace-root . --json\n\n\
         Exit status: 0 success, 1 failure (e.g. a root that does not exist), 2 usage error.",
        levels_table()
    )
}

/// [`crate::policy::table`] in a shape that stays readable when clap wraps it at 100
/// columns: one line per level and parameter instead of Markdown rows.
fn levels_table() -> String {
    let mut out = String::new();
    for (i, row) in crate::policy::rows().into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{} ({})\n", row.provider, row.display_name));
        for l in &row.levels {
            let name = format!("{}:", l.level);
            if l.values.is_empty() {
                out.push_str(&format!("  {name:<12}—\n"));
            }
            for (i, v) in l.values.iter().enumerate() {
                let name = if i == 0 { name.as_str() } else { "" };
                out.push_str(&format!("  {name:<12}{v}\n"));
            }
        }
    }
    let table = crate::policy::table();
    // The prose after the Markdown rows: defaults and what holds at every level.
    let rest = table
        .find("\nWith no mode named:")
        .map_or("", |i| &table[i..]);
    out.push_str(rest.trim_end());
    out
}

#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// Gateway MCP URL, e.g. http://127.0.0.1:3333/mcp [default: the configured local
    /// endpoint].
    #[arg(long, value_name = "URL", value_parser = parse_http_url)]
    pub url: Option<String>,
}

fn parse_http_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or("expected an http:// or https:// URL, such as http://127.0.0.1:3333/mcp")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("the URL has no host".into());
    }
    Ok(s.to_string())
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Speak MCP on stdin/stdout instead of HTTP (for clients that spawn the server).
    #[arg(long)]
    pub stdio: bool,
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Read the bearer token from this file (must be 0600) instead of the configured one.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Config directory (set by the service definition).
    #[arg(long, hide = true)]
    pub config_dir: Option<PathBuf>,
    /// Data directory (set by the service definition).
    #[arg(long, hide = true)]
    pub data_dir: Option<PathBuf>,
    /// Run as supervisor: keep a gateway child alive, restarting it on crashes.
    #[arg(long, hide = true)]
    pub supervised: bool,
    /// Write the log to logs/gateway.log in the data directory, rotated by size
    /// (`[log]` in config.toml), instead of stderr. Service definitions set it.
    #[arg(long, env = crate::platform::logfile::ENV, value_parser = clap::builder::FalseyValueParser::new())]
    pub log_file: bool,
}

#[derive(Debug, Args)]
pub struct PackReleaseArgs {
    /// The built binary to package.
    #[arg(long)]
    pub binary: PathBuf,
    /// Output directory (an existing release-manifest.json there is extended).
    #[arg(long)]
    pub out: PathBuf,
    /// Release version [default: this binary's version].
    #[arg(long)]
    pub release_version: Option<String>,
    /// Target triple of --binary [default: this binary's target].
    #[arg(long)]
    pub target: Option<String>,
    /// Base URL the assets will be served from; relative names are used when omitted.
    #[arg(long)]
    pub base_url: Option<String>,
}
