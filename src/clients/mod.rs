//! MCP clients: where each keeps its configuration, in which format, and how our entry
//! looks there. One table ([`CLIENTS`]) drives printing, `--write`, `uninstall` and
//! `doctor`, so a client is described once.
//!
//! Formats, as each client documents them:
//! - Claude Desktop: `claude_desktop_config.json`, `mcpServers.<name>` = `{command, args, env}`
//!   (stdio only), in the platform config dir (`~/Library/Application Support/Claude` on
//!   macOS, `%APPDATA%\Claude` on Windows, `~/.config/Claude` on Linux).
//! - Claude Code: `~/.claude.json`, top-level `mcpServers` is the user scope; stdio entries
//!   carry `"type": "stdio"` (what `claude mcp add --scope user` writes).
//! - Codex: `$CODEX_HOME/config.toml` (default `~/.codex`), `[mcp_servers.<name>]` with
//!   `command`/`args`/`env`, or `url` + `bearer_token_env_var`.
//! - Gemini CLI: `~/.gemini/settings.json`, `mcpServers.<name>` = `{command, args, env}` or
//!   `{httpUrl, headers}`.
//! - Cursor: `~/.cursor/mcp.json`, `mcpServers.<name>` = `{command, args, env}` or
//!   `{url, headers}` (values may use `${env:NAME}`).
//! - VS Code: the user profile's `mcp.json` (platform config dir + `Code/User`), top-level
//!   `servers`, entries with `"type": "stdio"` or `"type": "http"`, secrets via `inputs`.
//!
//! Nothing here prints.

mod entry;
pub mod file;
mod json_doc;
pub mod recorded;
mod toml_doc;

use std::path::PathBuf;

pub use crate::report::ClientPresence;
use crate::runtime::config::Config;
use crate::runtime::paths::{HOME_ENV, Paths};

/// The MCP clients we can configure (`--client`).
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Client {
    /// Any client: URL plus Authorization header.
    Generic,
    /// Claude Desktop (`claude_desktop_config.json`; stdio only, so always the bridge).
    ClaudeDesktop,
    /// Claude Code (`~/.claude.json`, or `claude mcp add`).
    ClaudeCode,
    /// OpenAI Codex CLI (`~/.codex/config.toml`).
    Codex,
    /// Gemini CLI (`~/.gemini/settings.json`).
    GeminiCli,
    /// Cursor (`~/.cursor/mcp.json`).
    Cursor,
    /// VS Code (the user profile's `mcp.json`).
    Vscode,
}

pub use entry::{Entry, EntryValue};
pub use file::{ConfigDoc, Shape};

/// The server name clients register us under.
pub const SERVER_KEY: &str = "llm-cli-gateway";
/// Environment variable that carries the token for clients that read it from there.
pub const TOKEN_ENV: &str = "LLM_CLI_GATEWAY_TOKEN";
/// The argument that makes our binary a stdio bridge.
pub const BRIDGE_ARG: &str = "bridge";

/// How a client's file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (comments and trailing commas tolerated, as these clients do): servers live in
    /// an object under a top-level key.
    Json {
        /// `mcpServers`, or `servers` for VS Code.
        servers_key: &'static str,
        /// Whether stdio entries carry `"type": "stdio"`.
        stdio_type: bool,
    },
    /// TOML: one `[<table>.<name>]` table per server.
    Toml {
        /// `mcp_servers` for Codex.
        table: &'static str,
    },
}

impl Format {
    /// The top-level key that holds the servers.
    pub fn servers_key(self) -> &'static str {
        match self {
            Format::Json { servers_key, .. } => servers_key,
            Format::Toml { table } => table,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Json { .. } => "json",
            Format::Toml { .. } => "toml",
        }
    }

    /// The entry that starts `bridge`, in this format's shape. Never holds the token: the
    /// bridge reads it from its 0600 file.
    pub fn bridge_entry(self, bridge: &Bridge) -> Entry {
        let mut e = Entry::default();
        if let Format::Json {
            stdio_type: true, ..
        } = self
        {
            e.push("type", EntryValue::Str("stdio".into()));
        }
        e.push("command", EntryValue::Str(bridge.command.clone()));
        e.push("args", EntryValue::List(vec![BRIDGE_ARG.into()]));
        if let Some(home) = &bridge.home {
            e.push(
                "env",
                EntryValue::Map(vec![(HOME_ENV.to_string(), home.clone())]),
            );
        }
        e
    }
}

/// Where a client's file lives, relative to directories `directories::BaseDirs` knows.
#[derive(Debug, Clone, Copy)]
enum Location {
    /// Under the home directory.
    Home(&'static [&'static str]),
    /// Under the platform config dir (`~/.config`, `~/Library/Application Support`,
    /// `%APPDATA%`), which is where Claude Desktop and VS Code keep theirs on every OS.
    Config(&'static [&'static str]),
    /// `$CODEX_HOME/<file>`, else `~/.codex/<file>`.
    CodexHome(&'static str),
}

/// One MCP client we can configure.
#[derive(Debug, Clone, Copy)]
pub struct ClientSpec {
    pub client: Client,
    /// The `--client` value.
    pub id: &'static str,
    pub name: &'static str,
    pub format: Format,
    location: Location,
}

/// The common shape: Claude Desktop, Gemini CLI, Cursor, and the generic snippet.
pub const MCP_SERVERS: Format = Format::Json {
    servers_key: "mcpServers",
    stdio_type: false,
};

/// Every client with a config file, in the order `doctor` lists them.
pub const CLIENTS: [ClientSpec; 6] = [
    ClientSpec {
        client: Client::ClaudeDesktop,
        id: "claude-desktop",
        name: "Claude Desktop",
        format: MCP_SERVERS,
        location: Location::Config(&["Claude", "claude_desktop_config.json"]),
    },
    ClientSpec {
        client: Client::ClaudeCode,
        id: "claude-code",
        name: "Claude Code",
        format: Format::Json {
            servers_key: "mcpServers",
            stdio_type: true,
        },
        location: Location::Home(&[".claude.json"]),
    },
    ClientSpec {
        client: Client::Codex,
        id: "codex",
        name: "Codex",
        format: Format::Toml {
            table: "mcp_servers",
        },
        location: Location::CodexHome("config.toml"),
    },
    ClientSpec {
        client: Client::GeminiCli,
        id: "gemini-cli",
        name: "Gemini CLI",
        format: MCP_SERVERS,
        location: Location::Home(&[".gemini", "settings.json"]),
    },
    ClientSpec {
        client: Client::Cursor,
        id: "cursor",
        name: "Cursor",
        format: MCP_SERVERS,
        location: Location::Home(&[".cursor", "mcp.json"]),
    },
    ClientSpec {
        client: Client::Vscode,
        id: "vscode",
        name: "VS Code",
        format: Format::Json {
            servers_key: "servers",
            stdio_type: true,
        },
        location: Location::Config(&["Code", "User", "mcp.json"]),
    },
];

/// The spec for `client`; `None` for `generic`, which has no file.
pub fn spec(client: Client) -> Option<&'static ClientSpec> {
    CLIENTS.iter().find(|s| s.client == client)
}

/// The spec whose id is `id` (as recorded in the receipt).
pub fn spec_by_id(id: &str) -> Option<&'static ClientSpec> {
    CLIENTS.iter().find(|s| s.id == id)
}

impl ClientSpec {
    /// The client's config file for the current user, or `None` without a home directory.
    pub fn config_file(&self) -> Option<PathBuf> {
        let dirs = directories::BaseDirs::new()?;
        let join = |base: &std::path::Path, parts: &[&str]| {
            parts
                .iter()
                .fold(base.to_path_buf(), |p, part| p.join(part))
        };
        Some(match self.location {
            Location::Home(parts) => join(dirs.home_dir(), parts),
            Location::Config(parts) => join(dirs.config_dir(), parts),
            Location::CodexHome(file) => {
                match std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
                    Some(home) => PathBuf::from(home).join(file),
                    None => dirs.home_dir().join(".codex").join(file),
                }
            }
        })
    }

    /// Our bridge entry in this client's shape.
    pub fn bridge_entry(&self, bridge: &Bridge) -> Entry {
        self.format.bridge_entry(bridge)
    }
}

/// What a client has to run to reach this installation's gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    /// `<data_dir>/current/bin/llm-cli-gateway`: stable across upgrades, because `current`
    /// is switched atomically to the new version.
    pub command: String,
    /// `LLM_CLI_GATEWAY_HOME` for the bridge, when this installation lives under one.
    pub home: Option<String>,
}

impl Bridge {
    pub fn for_paths(paths: &Paths) -> Self {
        let exe = format!(
            "{}{}",
            crate::platform::build::PRODUCT,
            std::env::consts::EXE_SUFFIX
        );
        let command = paths.current_link().join("bin").join(exe);
        // With HOME_ENV set, config and data share the root (see `Paths::under`).
        let home = std::env::var_os(HOME_ENV)
            .filter(|v| !v.is_empty())
            .map(|_| paths.data_dir.display().to_string());
        Self {
            command: command.display().to_string(),
            home,
        }
    }

    /// Whether `entry` starts this bridge (same command, `bridge` argument), whatever else
    /// the user added to it.
    pub fn is_run_by(&self, entry: &serde_json::Value) -> bool {
        runs_bridge(entry, &self.command)
    }

    /// [`Self::is_run_by`], and for this installation's home.
    fn is_ours(&self, entry: &serde_json::Value) -> bool {
        self.is_run_by(entry) && entry["env"][HOME_ENV].as_str() == self.home.as_deref()
    }
}

/// Whether `entry` runs `command bridge ...`: what uninstall checks before removing an
/// entry it wrote, so one the user has since repointed is left alone.
pub fn runs_bridge(entry: &serde_json::Value, command: &str) -> bool {
    entry["command"].as_str() == Some(command) && is_bridge_args(entry)
}

fn is_bridge_args(entry: &serde_json::Value) -> bool {
    entry["args"]
        .as_array()
        .is_some_and(|a| a.first().and_then(|v| v.as_str()) == Some(BRIDGE_ARG))
}

/// Looks at every client's config file. Never fails and never prints: what cannot be
/// read is a `problem` on that client.
pub fn detect_all(paths: &Paths, config: &Config) -> Vec<ClientPresence> {
    let bridge = Bridge::for_paths(paths);
    CLIENTS
        .iter()
        .map(|spec| detect(spec, &bridge, config))
        .collect()
}

fn detect(spec: &ClientSpec, bridge: &Bridge, config: &Config) -> ClientPresence {
    detect_file(spec, spec.config_file(), bridge, config)
}

fn detect_file(
    spec: &ClientSpec,
    file: Option<PathBuf>,
    bridge: &Bridge,
    config: &Config,
) -> ClientPresence {
    let mut p = ClientPresence {
        client: spec.id.into(),
        name: spec.name.into(),
        config_file: PathBuf::new(),
        exists: false,
        has_entry: false,
        points_at_gateway: false,
        problem: None,
    };
    let Some(file) = file else {
        p.problem = Some("no home directory to look in".into());
        return p;
    };
    p.config_file = file.clone();
    // Follows a symlink: reading through one is fine, only writing refuses.
    let text = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return p,
        Err(e) => {
            p.exists = file.exists();
            p.problem = Some(format!("could not read it: {e}"));
            return p;
        }
    };
    p.exists = true;
    let servers = String::from_utf8(text)
        .map_err(|_| Shape::NotUtf8)
        .and_then(|t| ConfigDoc::parse(spec.format, &t))
        .map(|doc| doc.servers());
    let servers = match servers {
        Ok(s) => s,
        Err(shape) => {
            p.problem = Some(shape.to_string());
            return p;
        }
    };
    // A public URL may be configured as the bare origin or with the MCP path.
    let mut urls = vec![config.local_url()];
    if let Some(public) = &config.public_url {
        urls.push(public.clone());
        urls.push(format!("{}{}", public.trim_end_matches('/'), config.path));
    }
    for (key, value) in &servers {
        let url = ["url", "httpUrl", "serverUrl"]
            .iter()
            .find_map(|k| value[*k].as_str());
        let at_url = url.is_some_and(|u| urls.iter().any(|ours| same_url(u, ours)));
        let runs_a_bridge =
            value["command"].as_str().is_some_and(is_our_binary_name) && is_bridge_args(value);
        if key == SERVER_KEY || at_url || runs_a_bridge || bridge.is_run_by(value) {
            p.has_entry = true;
            p.points_at_gateway |= at_url || bridge.is_ours(value);
        }
    }
    p
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn is_our_binary_name(command: &str) -> bool {
    let name = std::path::Path::new(command)
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    name == crate::platform::build::PRODUCT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bridge() -> Bridge {
        Bridge {
            command: "/h/current/bin/llm-cli-gateway".into(),
            home: Some("/h".into()),
        }
    }

    /// Adding then removing our entry gives back the original bytes, comments and all.
    fn round_trips(client: Client, original: &str, expect_added: &[&str]) {
        let spec = spec(client).unwrap();
        let entry = spec.bridge_entry(&bridge());
        let mut doc = ConfigDoc::parse(spec.format, original).unwrap();
        assert!(doc.upsert(SERVER_KEY, &entry));
        let added = doc.render();
        for needle in expect_added {
            assert!(added.contains(needle), "{needle:?} missing in:\n{added}");
        }
        let mut again = ConfigDoc::parse(spec.format, &added).unwrap();
        assert!(
            !again.upsert(SERVER_KEY, &entry),
            "second upsert changed:\n{added}"
        );
        assert_eq!(again.entry(SERVER_KEY), Some(entry.to_json()));
        assert!(again.remove(SERVER_KEY));
        assert_eq!(again.render(), original);
    }

    #[test]
    fn jsonc_edits_keep_everything_else() {
        let text = "{\n    // keep me\n    \"theme\": \"dark\", /* inline */\n    \"mcpServers\": {\n        \"other\": { \"command\": \"x\" }, // other\n    },\n}\n";
        round_trips(
            Client::Cursor,
            text,
            &[
                "// keep me",
                "/* inline */",
                "// other",
                "        \"llm-cli-gateway\": {",
            ],
        );
    }

    #[test]
    fn toml_edits_keep_everything_else() {
        let text = "# top\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\" # c\n\n[profiles.a]\nmodel = \"b\"\n";
        round_trips(
            Client::Codex,
            text,
            &[
                "[mcp_servers.llm-cli-gateway]\ncommand = \"/h/current/bin/llm-cli-gateway\"\nargs = [\"bridge\"]\nenv = { LLM_CLI_GATEWAY_HOME = \"/h\" }\n\n[profiles.a]",
            ],
        );
    }

    #[test]
    fn shapes_are_refused_with_positions() {
        let json = spec(Client::GeminiCli).unwrap().format;
        let err = |f, t| ConfigDoc::parse(f, t).err().unwrap().to_string();
        assert_eq!(
            err(json, "{\n  \"a\": 1\n  \"b\": 2\n}"),
            "malformed at 2:9: Expected comma"
        );
        assert_eq!(
            err(json, "[1]"),
            "the top-level value is an array, not an object"
        );
        assert_eq!(
            err(json, "{\"mcpServers\": \"x\"}"),
            "`mcpServers` is a string, not an object"
        );
        let toml = spec(Client::Codex).unwrap().format;
        assert!(
            err(toml, "a = 1\nb = [\n").starts_with("malformed at 2:"),
            "{}",
            err(toml, "a = 1\nb = [\n")
        );
        assert_eq!(
            err(toml, "mcp_servers = 3"),
            "`mcp_servers` is a number, not an object"
        );
    }

    #[test]
    fn detects_entries_and_where_they_point() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(Client::ClaudeDesktop).unwrap();
        let config = Config::default();
        let look = |text: Option<&str>| {
            let f = dir.path().join("c.json");
            let _ = std::fs::remove_file(&f);
            if let Some(t) = text {
                std::fs::write(&f, t).unwrap();
            }
            detect_file(spec, Some(f), &bridge(), &config)
        };
        let p = look(None);
        assert!(!p.exists && !p.has_entry && p.problem.is_none());
        let ours = file::render_fresh(spec.format, SERVER_KEY, &spec.bridge_entry(&bridge()));
        let p = look(Some(&ours));
        assert!(p.exists && p.has_entry && p.points_at_gateway, "{p:?}");
        let other_home = ours.replace("\"/h\"", "\"/elsewhere\"");
        let p = look(Some(&other_home));
        assert!(p.has_entry && !p.points_at_gateway, "{p:?}");
        let by_url = format!(
            r#"{{"mcpServers": {{"gw": {{"url": "{}"}}}}}}"#,
            config.local_url()
        );
        let p = look(Some(&by_url));
        assert!(p.has_entry && p.points_at_gateway, "{p:?}");
        let p = look(Some(r#"{"mcpServers": {"x": {"command": "y"}}}"#));
        assert!(p.exists && !p.has_entry && p.problem.is_none());
        let p = look(Some("{\n  \"mcpServers\": {,\n"));
        assert!(
            p.problem.as_deref().unwrap().starts_with("malformed at 2:"),
            "{p:?}"
        );
    }
}
