//! print-client-config for every client (both transports), --write merging into real
//! files in a temp HOME, the hostile files it must refuse, and uninstall removing exactly
//! the entries it wrote.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{Home, parse_one_document, stderr};

const KEY: &str = "llm-cli-gateway";

/// A gateway home plus a user home the clients' files live in.
struct Env {
    gw: Home,
    user: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            gw: Home::new(),
            user: tempfile::tempdir().unwrap(),
        }
    }

    /// Installed but not started: `--write` needs the receipt, not a running gateway.
    fn installed() -> Self {
        let env = Self::new();
        let port = env.gw.port.to_string();
        let (doc, code) = env.json(&["setup", "--yes", "--no-start", "--port", &port]);
        assert_eq!(code, 0, "setup failed: {doc:#}");
        env
    }

    fn cmd(&self) -> Command {
        let mut c = self.gw.cmd();
        c.env("HOME", self.user.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CODEX_HOME")
            .env_remove("APPDATA");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn json(&self, args: &[&str]) -> (Value, i32) {
        let out = self.cmd().args(args).arg("--json").output().unwrap();
        (parse_one_document(&out), out.status.code().unwrap_or(-1))
    }

    fn write(&self, client: &str) -> (Value, i32) {
        self.json(&["print-client-config", "--client", client, "--write"])
    }

    fn file(&self, client: &str) -> PathBuf {
        self.user.path().join(match client {
            "claude-desktop" => ".config/Claude/claude_desktop_config.json",
            "claude-code" => ".claude.json",
            "codex" => ".codex/config.toml",
            "gemini-cli" => ".gemini/settings.json",
            "cursor" => ".cursor/mcp.json",
            "vscode" => ".config/Code/User/mcp.json",
            other => panic!("no file for {other}"),
        })
    }

    fn put(&self, client: &str, text: &str, mode: u32) -> PathBuf {
        let f = self.file(client);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, text).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    fn bridge_command(&self) -> String {
        self.gw
            .path()
            .join("current/bin/llm-cli-gateway")
            .display()
            .to_string()
    }

    fn token(&self) -> String {
        self.gw.token()
    }
}

const CLIENTS: [&str; 6] = [
    "claude-desktop",
    "claude-code",
    "codex",
    "gemini-cli",
    "cursor",
    "vscode",
];

fn servers_key(client: &str) -> &'static str {
    match client {
        "vscode" => "servers",
        "codex" => "mcp_servers",
        _ => "mcpServers",
    }
}

/// Parses a client file or snippet in its format, as JSON.
fn parse(client: &str, text: &str) -> Value {
    if client == "codex" {
        let t: toml::Table = toml::from_str(text).expect("valid TOML");
        serde_json::to_value(t).unwrap()
    } else {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{client}: {e}\n{text}"))
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Files in `dir` whose names start with `prefix.bak-`.
fn backups(file: &Path) -> Vec<PathBuf> {
    let name = format!("{}.bak-", file.file_name().unwrap().to_string_lossy());
    let mut found: Vec<PathBuf> = std::fs::read_dir(file.parent().unwrap())
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&name))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Asserts the bridge entry as each client expects it.
fn assert_bridge_entry(env: &Env, client: &str, entry: &Value) {
    assert_eq!(entry["command"], env.bridge_command(), "{client}: {entry}");
    assert_eq!(entry["args"], serde_json::json!(["bridge"]), "{client}");
    assert_eq!(
        entry["env"]["LLM_CLI_GATEWAY_HOME"],
        env.gw.path().display().to_string(),
        "{client}"
    );
    let typed = matches!(client, "claude-code" | "vscode");
    assert_eq!(
        entry.get("type").and_then(Value::as_str),
        typed.then_some("stdio"),
        "{client}: {entry}"
    );
}

#[test]
fn snippets_parse_in_each_clients_format_for_both_transports() {
    let env = Env::installed();
    let token = env.token();
    let url = format!("http://127.0.0.1:{}/mcp", env.gw.port);
    for client in CLIENTS {
        let (doc, code) = env.json(&["print-client-config", "--client", client]);
        assert_eq!(code, 0, "{doc:#}");
        assert_eq!(doc["transport"], "bridge");
        let snippet = doc["snippet"].as_str().unwrap();
        let entry = &parse(client, snippet)[servers_key(client)][KEY];
        assert_bridge_entry(&env, client, entry);
        let (shown, _) = env.json(&["print-client-config", "--client", client, "--show-token"]);
        for d in [&doc, &shown] {
            assert!(
                !d.to_string().contains(&token),
                "{client} bridge leaked the token"
            );
        }
    }
    let (cc, _) = env.json(&["print-client-config", "--client", "claude-code"]);
    assert_eq!(
        cc["command_line"].as_str().unwrap(),
        format!(
            "claude mcp add --scope user {KEY} -e 'LLM_CLI_GATEWAY_HOME={}' -- '{}' bridge",
            env.gw.path().display(),
            env.bridge_command()
        )
    );

    let http = |client: &str, show: bool| {
        let mut args = vec![
            "print-client-config",
            "--client",
            client,
            "--transport",
            "http",
        ];
        if show {
            args.push("--show-token");
        }
        let (doc, code) = env.json(&args);
        assert_eq!(code, 0, "{doc:#}");
        assert_eq!(doc["transport"], "http");
        assert_eq!(
            doc["snippet"].as_str().unwrap().contains(&token),
            show,
            "{client} show={show}: {doc:#}"
        );
        doc
    };
    for client in [
        "generic",
        "claude-code",
        "codex",
        "gemini-cli",
        "cursor",
        "vscode",
    ] {
        let doc = http(client, false);
        http(client, true);
        let snippet = doc["snippet"].as_str().unwrap();
        match client {
            "claude-code" => assert!(
                snippet.starts_with(&format!("claude mcp add --transport http {KEY} '{url}'")),
                "{snippet}"
            ),
            "codex" => {
                let e = &parse(client, snippet)["mcp_servers"][KEY];
                assert_eq!(e["url"], url);
                assert_eq!(e["bearer_token_env_var"], "LLM_CLI_GATEWAY_TOKEN");
            }
            "generic" | "gemini-cli" => {
                let e = &parse(client, snippet)["mcpServers"][KEY];
                let url_key = if client == "generic" {
                    "url"
                } else {
                    "httpUrl"
                };
                assert_eq!(e[url_key], url);
                assert!(
                    e["headers"]["Authorization"]
                        .as_str()
                        .unwrap()
                        .starts_with("Bearer <redacted")
                );
                assert_eq!(doc["token_redacted"], true);
            }
            "cursor" => {
                let e = &parse(client, snippet)["mcpServers"][KEY];
                assert_eq!(e["url"], url);
                assert_eq!(
                    e["headers"]["Authorization"],
                    "Bearer ${env:LLM_CLI_GATEWAY_TOKEN}"
                );
            }
            "vscode" => {
                let v = parse(client, snippet);
                let e = &v["servers"][KEY];
                assert_eq!(
                    (&e["type"], &e["url"]),
                    (&"http".into(), &url.clone().into())
                );
                let input = &v["inputs"][0];
                assert_eq!(input["type"], "promptString");
                assert_eq!(input["password"], true);
                assert_eq!(
                    e["headers"]["Authorization"],
                    format!("Bearer ${{input:{}}}", input["id"].as_str().unwrap())
                );
            }
            _ => unreachable!(),
        }
    }
    let (doc, code) = env.json(&[
        "print-client-config",
        "--client",
        "claude-desktop",
        "--transport",
        "http",
    ]);
    assert_eq!(code, 2, "{doc:#}");
    assert_eq!(doc["error"]["code"], "usage");
    assert!(doc["error"]["message"].as_str().unwrap().contains("stdio"));
}

#[test]
fn write_creates_each_clients_file_once() {
    let env = Env::installed();
    for client in CLIENTS {
        let (doc, code) = env.write(client);
        assert_eq!(code, 0, "{doc:#}");
        let f = env.file(client);
        assert_eq!(doc["written"]["file"], f.display().to_string());
        assert_eq!(doc["written"]["created"], true, "{doc:#}");
        assert_eq!(doc["written"]["changed"], true);
        assert!(doc["written"].get("backup").is_none());
        assert_eq!(mode(&f), 0o600, "{client}");
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains(&env.token()));
        assert_bridge_entry(
            &env,
            client,
            &parse(client, &text)[servers_key(client)][KEY],
        );
        assert_eq!(
            text.trim_end(),
            doc["snippet"].as_str().unwrap(),
            "{client}: the written file differs from the printed snippet"
        );

        let (again, code) = env.write(client);
        assert_eq!(code, 0);
        assert_eq!(again["written"]["changed"], false, "{again:#}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), text);
        assert!(backups(&f).is_empty(), "{client}: {:?}", backups(&f));
    }
    // Directories we created are private; ones that existed (HOME) are left as they were.
    for dir in [".cursor", ".codex", ".gemini", ".config", ".config/Claude"] {
        assert_eq!(mode(&env.user.path().join(dir)), 0o700, "{dir}");
    }
    let receipt: Value =
        serde_json::from_str(&std::fs::read_to_string(env.gw.path().join("receipt.json")).unwrap())
            .unwrap();
    let recorded: Vec<&str> = receipt["client_entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["client"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, CLIENTS);
}

/// Asserts that `after` is `before` with one contiguous insertion, and returns it.
fn inserted<'a>(before: &str, after: &'a str) -> &'a str {
    let prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .bytes()
        .rev()
        .zip(after[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "the original was not kept byte for byte around one insertion:\n--- before\n{before}\n--- after\n{after}"
    );
    &after[prefix..after.len() - suffix]
}

#[test]
fn write_merges_into_existing_files_keeping_everything_else() {
    let env = Env::installed();
    let vscode = "// VS Code user MCP servers\n{\n\t\"inputs\": [\n\t\t{ \"type\": \"promptString\", \"id\": \"k\", \"password\": true },\n\t],\n\t\"servers\": {\n\t\t// the one I use daily\n\t\t\"other\": { \"type\": \"stdio\", \"command\": \"other-mcp\" },\n\t},\n}\n";
    let codex = "# my codex settings\nmodel = \"o3\"  # fast\n\n[mcp_servers.other]\ncommand = \"other-mcp\"\nargs = [\"--x\"]\n\n# profiles below\n[profiles.deep]\nmodel = \"o3-pro\"\n";
    let claude = "{\n  \"numStartups\": 3,\n  \"theme\": \"dark\",\n  \"projects\": {\n    \"/src/app\": { \"mcpServers\": {} }\n  },\n  \"mcpServers\": {\n    \"other\": {\n      \"type\": \"stdio\",\n      \"command\": \"other-mcp\"\n    }\n  }\n}\n";
    for (client, original) in [
        ("vscode", vscode),
        ("codex", codex),
        ("claude-code", claude),
    ] {
        let f = env.put(client, original, 0o640);
        let (doc, code) = env.write(client);
        assert_eq!(code, 0, "{doc:#}");
        assert_eq!(doc["written"]["changed"], true);
        assert_eq!(doc["written"]["created"], false);
        let after = std::fs::read_to_string(&f).unwrap();
        let added = inserted(original, &after);
        assert!(
            added.contains(KEY) && added.contains(&env.bridge_command()),
            "{added}"
        );
        let parsed = if client == "codex" {
            parse(client, &after)
        } else {
            jsonc(&after)
        };
        assert_bridge_entry(&env, client, &parsed[servers_key(client)][KEY]);
        assert_eq!(mode(&f), 0o640, "{client}: mode not kept");
        let baks = backups(&f);
        assert_eq!(baks.len(), 1, "{baks:?}");
        assert_eq!(doc["written"]["backup"], baks[0].display().to_string());
        assert_eq!(std::fs::read_to_string(&baks[0]).unwrap(), original);
        assert_eq!(mode(&baks[0]), 0o640);
        let name = baks[0].file_name().unwrap().to_string_lossy().into_owned();
        let stamp = name.rsplit(".bak-").next().unwrap();
        assert!(
            stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
            "{name}"
        );

        let (again, _) = env.write(client);
        assert_eq!(again["written"]["changed"], false);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), after);
        assert_eq!(backups(&f).len(), 1, "a no-op run made a backup");

        // An entry under our name that differs is replaced, with a backup first.
        let edited = after.replace("\"bridge\"", "\"serve\"");
        assert_ne!(edited, after);
        std::fs::write(&f, &edited).unwrap();
        let (replaced, _) = env.write(client);
        assert_eq!(replaced["written"]["changed"], true, "{replaced:#}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), after);
        let baks = backups(&f);
        assert_eq!(baks.len(), 2, "{baks:?}");
        assert_eq!(std::fs::read_to_string(&baks[1]).unwrap(), edited);
    }
}

/// Reads JSONC (comments, trailing commas) as the clients do.
fn jsonc(text: &str) -> Value {
    jsonc_parser::cst::CstRootNode::parse(text, &Default::default())
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .to_serde_value()
        .unwrap()
}

/// Runs `--write` for `client` and checks it failed with exit 1, touching nothing.
fn refused(env: &Env, client: &str, expect: &[&str]) -> Value {
    let f = env.file(client);
    let dir_before: Vec<_> = std::fs::read_dir(f.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let bytes_before = std::fs::read(&f).ok();
    let (doc, code) = env.write(client);
    assert_eq!(code, 1, "{doc:#}");
    let message = doc["error"]["message"].as_str().unwrap();
    for e in expect {
        assert!(message.contains(e), "{e:?} not in {message:?}");
    }
    assert!(doc["error"]["hint"].is_string(), "{doc:#}");
    assert_eq!(std::fs::read(&f).ok(), bytes_before, "{client} changed");
    let dir_after: Vec<_> = std::fs::read_dir(f.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(
        dir_before,
        dir_after,
        "files appeared next to {}",
        f.display()
    );
    doc
}

#[test]
fn write_refuses_files_it_cannot_change_safely() {
    let env = Env::installed();
    let f = env.put(
        "cursor",
        "{\n  \"mcpServers\": {\n    \"a\": 1,,\n  }\n}\n",
        0o600,
    );
    let file = f.display().to_string();
    let doc = refused(&env, "cursor", &[&file, "malformed at 3:"]);
    assert_eq!(doc["error"]["code"], "malformed");
    env.put(
        "vscode",
        "// mine\n{\n  \"servers\": { /* x */\n    \"a\": {\"command\": \"b\" \n    \"c\": 1\n  }\n}\n",
        0o600,
    );
    refused(&env, "vscode", &["mcp.json", "malformed at 4:"]);
    env.put(
        "codex",
        "model = \"o3\"\n[mcp_servers.x\ncommand = \"y\"\n",
        0o600,
    );
    refused(&env, "codex", &["config.toml", "malformed at 2:"]);

    let f = env.put("gemini-cli", "{\"theme\": \"dark\"}\n", 0o444);
    refused(
        &env,
        "gemini-cli",
        &[&f.display().to_string(), "read-only", "0444"],
    );

    // A dotfile kept in a repo: the link and its target stay as they are.
    let target = env.user.path().join("dotfiles/claude.json");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, "{\"mcpServers\": {}}\n").unwrap();
    std::os::unix::fs::symlink(&target, env.file("claude-code")).unwrap();
    let doc = refused(
        &env,
        "claude-code",
        &["symlink", &target.display().to_string()],
    );
    assert!(doc["error"]["hint"].as_str().unwrap().contains("edit"));
    assert!(env.file("claude-code").is_symlink());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "{\"mcpServers\": {}}\n"
    );

    env.put("cursor", "[1, 2]\n", 0o600);
    refused(&env, "cursor", &["top-level value is an array"]);
    env.put("claude-desktop", "{\"mcpServers\": \"none\"}\n", 0o600);
    let doc = refused(
        &env,
        "claude-desktop",
        &["`mcpServers` is a string, not an object"],
    );
    assert_eq!(doc["error"]["code"], "unexpected-shape");
    env.put("codex", "mcp_servers = \"none\"\n", 0o600);
    refused(&env, "codex", &["`mcp_servers` is a string"]);

    let (doc, code) = env.json(&[
        "print-client-config",
        "--client",
        "cursor",
        "--write",
        "--transport",
        "http",
    ]);
    assert_eq!((code, doc["error"]["code"].as_str()), (2, Some("usage")));
}

#[test]
fn write_before_setup_is_refused_and_creates_nothing() {
    let env = Env::new();
    let (doc, code) = env.write("cursor");
    assert_eq!(code, 1);
    assert_eq!(doc["error"]["code"], "not-installed", "{doc:#}");
    assert!(doc["error"]["hint"].as_str().unwrap().contains("setup"));
    let left: Vec<_> = std::fs::read_dir(env.user.path())
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let state: Vec<_> = std::fs::read_dir(env.gw.path())
        .unwrap()
        .flatten()
        .collect();
    assert!(state.is_empty(), "{state:?}");
}

fn removal_targets(doc: &Value) -> Vec<String> {
    doc["removals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "client-entry")
        .map(|r| r["target"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn uninstall_removes_only_the_entries_it_wrote() {
    let env = Env::installed();
    let cursor = "{\n  // keep this comment\n  \"mcpServers\": {\n    \"other\": { \"command\": \"other-mcp\" }\n  },\n  \"theme\": \"dark\"\n}\n";
    let codex = "# mine\n[mcp_servers.other]\ncommand = \"other-mcp\"\n";
    env.put("cursor", cursor, 0o600);
    env.put("codex", codex, 0o600);
    for client in ["cursor", "codex", "claude-desktop", "gemini-cli"] {
        assert_eq!(env.write(client).1, 0);
    }
    // The user repoints one entry and deletes another file altogether.
    let desktop = env.file("claude-desktop");
    let repointed = std::fs::read_to_string(&desktop)
        .unwrap()
        .replace(&env.bridge_command(), "/opt/my-fork/llm-cli-gateway");
    std::fs::write(&desktop, &repointed).unwrap();
    std::fs::remove_file(env.file("gemini-cli")).unwrap();

    let snapshot =
        || ["cursor", "codex", "claude-desktop"].map(|c| std::fs::read(env.file(c)).unwrap());
    let before = snapshot();
    let (dry, code) = env.json(&["uninstall"]);
    assert_eq!(code, 0, "{dry:#}");
    let expected = [
        format!("{}#{KEY}", env.file("cursor").display()),
        format!("{}#{KEY}", env.file("codex").display()),
    ];
    assert_eq!(removal_targets(&dry), expected);
    let kept = dry["kept"].to_string();
    assert!(
        kept.contains(&format!("{}#{KEY}", desktop.display())) && kept.contains("changed since"),
        "{kept}"
    );
    assert_eq!(snapshot(), before, "the dry run changed a client file");
    let human = String::from_utf8(env.run(&["uninstall"]).stdout).unwrap();
    assert!(
        human.contains("client-entry") && human.contains("changed since"),
        "{human}"
    );

    let (done, code) = env.json(&["uninstall", "--yes"]);
    assert_eq!(code, 0, "{done:#}");
    assert_eq!(removal_targets(&done), expected);
    assert!(done["kept"].to_string().contains("changed since"));
    let cursor_after = std::fs::read_to_string(env.file("cursor")).unwrap();
    assert!(!cursor_after.contains(KEY), "{cursor_after}");
    assert!(
        cursor_after.contains("// keep this comment")
            && cursor_after.contains("\"other\": { \"command\": \"other-mcp\" }")
            && cursor_after.contains("\"theme\": \"dark\""),
        "{cursor_after}"
    );
    assert_eq!(std::fs::read_to_string(env.file("codex")).unwrap(), codex);
    assert_eq!(std::fs::read_to_string(&desktop).unwrap(), repointed);
    assert!(!env.file("gemini-cli").exists());
    // Each removal backed the file up first.
    assert_eq!(backups(&env.file("cursor")).len(), 2);
}

#[test]
fn uninstall_keep_client_configs_leaves_entries() {
    let env = Env::installed();
    assert_eq!(env.write("vscode").1, 0);
    let f = env.file("vscode");
    let text = std::fs::read_to_string(&f).unwrap();
    let (done, code) = env.json(&["uninstall", "--yes", "--keep-client-configs"]);
    assert_eq!(code, 0, "{done:#}");
    assert!(removal_targets(&done).is_empty());
    assert!(
        done["kept"].to_string().contains("--keep-client-configs"),
        "{done:#}"
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), text);
    assert!(!env.gw.path().join("receipt.json").exists());
    let out = env.run(&["uninstall", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Runs `line` with /bin/sh, with a stand-in `claude` first on PATH that records its
/// argv (NUL-separated), and returns that argv.
fn argv_of_claude_line(dir: &Path, line: &str) -> Vec<String> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    std::fs::write(
        &claude,
        "#!/bin/sh\n: > \"$ARGV_OUT\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\" >> \"$ARGV_OUT\"; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_file = dir.join("argv");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(line)
        .env("PATH", path)
        .env("ARGV_OUT", &out_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}\n{}", stderr(&out));
    let raw = std::fs::read(&out_file).unwrap();
    let text = String::from_utf8(raw).unwrap();
    text.split_terminator('\0').map(String::from).collect()
}

/// Every shell line print-client-config prints keeps a path with a space, quotes, `$`,
/// a backtick and a newline as one word, exactly: /bin/sh gives the stand-in `claude`
/// the real paths.
#[test]
fn printed_shell_lines_quote_hostile_paths() {
    let base = tempfile::tempdir().unwrap();
    let gw = base.path().join("it's a \"test\" $dir `id` \\ x\nline 2");
    std::fs::create_dir_all(&gw).unwrap();
    let token = "0123456789abcdef".repeat(4);
    let token_file = gw.join("auth-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(support::BIN)
            .args(args)
            .arg("--json")
            .env("LLM_CLI_GATEWAY_HOME", &gw)
            .env("HOME", base.path())
            .env("CI", "true")
            .output()
            .unwrap();
        let doc = parse_one_document(&out);
        assert_eq!(out.status.code(), Some(0), "{doc:#}");
        doc
    };
    let home = gw.display().to_string();
    let bridge = gw.join("current/bin/llm-cli-gateway").display().to_string();

    let doc = run(&["print-client-config", "--client", "claude-code"]);
    let line = doc["command_line"].as_str().unwrap();
    assert_eq!(
        argv_of_claude_line(base.path(), line),
        [
            "mcp",
            "add",
            "--scope",
            "user",
            KEY,
            "-e",
            &format!("LLM_CLI_GATEWAY_HOME={home}"),
            "--",
            &bridge,
            "bridge"
        ],
        "{line}"
    );

    let url = "http://127.0.0.1:3333/mcp";
    for show in [false, true] {
        let mut args = vec![
            "print-client-config",
            "--client",
            "claude-code",
            "--transport",
            "http",
        ];
        if show {
            args.push("--show-token");
        }
        let doc = run(&args);
        let line = doc["snippet"].as_str().unwrap();
        assert_eq!(
            argv_of_claude_line(base.path(), line),
            [
                "mcp",
                "add",
                "--transport",
                "http",
                KEY,
                url,
                "--header",
                &format!("Authorization: Bearer {token}")
            ],
            "{line}"
        );
    }

    // Codex's snippet ends with the export line to paste, as comment lines.
    let doc = run(&[
        "print-client-config",
        "--client",
        "codex",
        "--transport",
        "http",
    ]);
    let snippet = doc["snippet"].as_str().unwrap();
    let (_, tail) = snippet
        .split_once("# and in the shell that starts codex:\n")
        .unwrap();
    let export: Vec<&str> = tail
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or_else(|| panic!("{l:?}")))
        .collect();
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "{}\nprintf '%s' \"$LLM_CLI_GATEWAY_TOKEN\"",
            export.join("\n")
        ))
        .output()
        .unwrap();
    assert_eq!(support::stdout(&out), token, "{snippet}");
}
