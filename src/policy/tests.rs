use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;
use crate::providers::access::{Access, Ask, ConfigOverride, PathAsk};
use crate::providers::{self, Common, Provider};

/// A home `u` with the gateway's home inside, a project, a sibling `u2` and a directory
/// outside every root.
struct World {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    home: PathBuf,
    gateway: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(tmp.path()).unwrap();
        for d in ["u/.gw", "u/proj/src", "u2", "outside"] {
            std::fs::create_dir_all(base.join(d)).unwrap();
        }
        World {
            home: base.join("u"),
            gateway: base.join("u/.gw"),
            base,
            _tmp: tmp,
        }
    }

    fn policy(&self, level: Level) -> Policy {
        self.policy_with(PolicySettings {
            level: Some(level),
            ..PolicySettings::default()
        })
    }

    fn policy_with(&self, settings: PolicySettings) -> Policy {
        Policy::new(&settings, &self.home, &self.gateway).unwrap()
    }

    fn path(&self, rel: &str) -> String {
        self.base.join(rel).display().to_string()
    }
}

fn access_with(tier: Tier) -> Access {
    Access {
        asks: vec![Ask {
            parameter: "mode".into(),
            value: tier.to_string(),
            tier,
            why: "test".into(),
        }],
        ..blank()
    }
}

fn blank() -> Access {
    Access {
        asks: Vec::new(),
        paths: Vec::new(),
        codex_overrides: Vec::new(),
        mode_parameter: "mode".into(),
        default_tier: Tier::ReadOnly,
        default_why: String::new(),
        safer_defaults: Vec::new(),
    }
}

fn provider_access(p: &dyn Provider, v: Value) -> Access {
    let args = v.as_object().unwrap().clone();
    let common = Common::parse(&args).unwrap();
    p.access(&common, &args).unwrap()
}

#[test]
fn levels_parse_print_and_order() {
    assert_eq!(Level::default(), Level::Balanced);
    for l in Level::ALL {
        assert_eq!(l.to_string().parse::<Level>().unwrap(), l);
        assert_eq!(serde_json::to_value(l).unwrap(), json!(l.as_str()));
    }
    assert_eq!(" Strict ".parse::<Level>().unwrap(), Level::Strict);
    let e = "lax".parse::<Level>().unwrap_err();
    assert!(
        e.to_string().contains("strict, balanced or permissive"),
        "{e}"
    );
    assert!(Level::Strict < Level::Balanced && Level::Balanced < Level::Permissive);
}

#[test]
fn each_level_allows_its_tiers() {
    let expect = [
        (Level::Strict, [true, false, false]),
        (Level::Balanced, [true, true, false]),
        (Level::Permissive, [true, true, true]),
    ];
    let w = World::new();
    for (level, allowed) in expect {
        for (tier, ok) in Tier::ALL.into_iter().zip(allowed) {
            assert_eq!(level.allows(tier), ok, "{level} {tier}");
            let d = w.policy(level).decide(None, &access_with(tier));
            assert_eq!(d.allowed(), ok, "{level} {tier}");
            assert_eq!(d.level, level);
            if ok {
                assert_eq!(d.tier, tier);
            } else {
                let r = &d.refusals[0];
                assert_eq!(r.needed_level, Some(Level::needed_for(tier)));
                assert_eq!(r.level_in_force, level);
                assert!(d.user_can_allow());
            }
        }
        assert_eq!(Level::needed_for(level.max_tier()), level);
    }
}

#[test]
fn settings_are_strict_toml() {
    let s: PolicySettings = toml::from_str(
        "level = \"strict\"\nworkspace_roots = [\"~/src\"]\ncodex_config_keys = [\"tui.*\"]\nrecord_prompts = true",
    )
    .unwrap();
    assert_eq!(s.level, Some(Level::Strict));
    assert_eq!(s.record_prompts, Some(true));
    assert!(toml::from_str::<PolicySettings>("levle = \"strict\"").is_err());
    assert!(toml::from_str::<PolicySettings>("level = \"lax\"").is_err());
    assert_eq!(
        toml::from_str::<PolicySettings>("").unwrap(),
        PolicySettings::default()
    );
    let empty = toml::to_string(&PolicySettings::default()).unwrap();
    assert_eq!(empty.trim(), "");
}

#[test]
fn roots_expand_and_must_exist() {
    let w = World::new();
    let p = w.policy(Level::Balanced);
    assert_eq!(
        p.roots(),
        std::slice::from_ref(&w.home),
        "the default root is the home"
    );
    assert_eq!(p.gateway_home(), w.gateway);
    assert!(!p.record_prompts());
    let roots = |entries: &[&str]| {
        Policy::new(
            &PolicySettings {
                workspace_roots: Some(entries.iter().map(|s| s.to_string()).collect()),
                ..PolicySettings::default()
            },
            &w.home,
            &w.gateway,
        )
    };
    let p = roots(&["~/proj", "~", &w.path("u2"), &w.path("u/proj/../proj")]).unwrap();
    assert_eq!(
        p.roots(),
        [w.home.join("proj"), w.home.clone(), w.base.join("u2")]
    );
    let e = roots(&["src"]).unwrap_err();
    assert!(
        matches!(&e, PolicyError::RelativeRoot { entry } if entry == "src"),
        "{e}"
    );
    let e = roots(&["~/missing"]).unwrap_err();
    assert!(e.to_string().contains("\"~/missing\""), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(matches!(
        roots(&["~bob"]),
        Err(PolicyError::UnexpandableRoot { .. })
    ));
    assert!(matches!(
        roots(&["~/.gw"]),
        Err(PolicyError::RootInGatewayHome { .. })
    ));
    std::fs::write(w.base.join("u/file"), "").unwrap();
    assert!(matches!(
        roots(&["~/file"]),
        Err(PolicyError::RootNotADirectory { .. })
    ));
    let none = roots(&[]).unwrap();
    let d = none.check_path("cwd", &w.path("u/proj")).unwrap_err();
    assert!(d.message().contains("none configured"), "{}", d.message());
}

#[cfg(unix)]
#[test]
fn a_gateway_home_yet_to_be_made_is_still_protected() {
    let w = World::new();
    std::os::unix::fs::symlink(&w.home, w.base.join("link")).unwrap();
    let p = Policy::new(
        &PolicySettings::default(),
        &w.home,
        &w.base.join("link/.state/gw"),
    )
    .unwrap();
    assert_eq!(p.gateway_home(), w.home.join(".state/gw"));
    let r = p
        .check_path("cwd", &w.home.display().to_string())
        .unwrap_err();
    assert!(matches!(*r.reason, Reason::PathInGatewayHome { .. }), "{r}");
}

#[test]
fn caller_can_only_tighten() {
    let w = World::new();
    let permissive = w.policy(Level::Permissive);
    let d = permissive.decide(Some(Level::Strict), &access_with(Tier::WorkspaceWrite));
    assert_eq!(d.level, Level::Strict);
    assert!(!d.allowed());
    let r = &d.refusals[0];
    assert_eq!(r.config_key.as_deref(), Some("approvalPolicy"));
    assert!(
        !d.user_can_allow(),
        "the caller's own limit is not put to the user"
    );
    assert!(
        r.message().contains("approvalPolicy \"strict\""),
        "{}",
        r.message()
    );

    let balanced = w.policy(Level::Balanced);
    let d = balanced.decide(Some(Level::Permissive), &access_with(Tier::Unrestricted));
    assert_eq!(d.level, Level::Balanced);
    assert_eq!(d.caller_level, Some(Level::Permissive));
    assert!(!d.allowed());
    assert_eq!(
        d.refusals[0].config_key.as_deref(),
        Some("[policy] level = \"permissive\"")
    );
    // Tightened by the caller but also beyond the operator: the operator's key is the one.
    let d = balanced.decide(Some(Level::Strict), &access_with(Tier::Unrestricted));
    assert_eq!(d.level, Level::Strict);
    assert_eq!(
        d.refusals[0].config_key.as_deref(),
        Some("[policy] level = \"permissive\"")
    );
}

#[test]
fn refusals_name_parameter_value_level_and_key() {
    let w = World::new();
    let a = provider_access(
        &providers::claude::Claude,
        json!({"prompt": "x", "permissionMode": "bypassPermissions"}),
    );
    let d = w.policy(Level::Balanced).decide(None, &a);
    assert_eq!(
        d.message(),
        "permissionMode \"bypassPermissions\" needs level permissive (skips every permission check); the operator's policy is balanced ([policy] level = \"permissive\" in config.toml allows it)"
    );
    let d = w.policy(Level::Permissive).decide(None, &a);
    assert!(d.allowed());
    assert_eq!(d.tier, Tier::Unrestricted);
}

#[test]
fn every_dangerous_mode_needs_permissive() {
    let w = World::new();
    let cases: [(&dyn Provider, Value); 9] = [
        (
            &providers::claude::Claude,
            json!({"permissionMode": "bypassPermissions"}),
        ),
        (
            &providers::claude::Claude,
            json!({"dangerouslySkipPermissions": true}),
        ),
        (
            &providers::codex::Codex,
            json!({"sandboxMode": "danger-full-access"}),
        ),
        (
            &providers::codex::Codex,
            json!({"dangerouslyBypassApprovalsAndSandbox": true}),
        ),
        (&providers::gemini::Gemini, json!({"approvalMode": "yolo"})),
        (&providers::grok::Grok, json!({"alwaysApprove": true})),
        (
            &providers::grok::Grok,
            json!({"permissionMode": "bypassPermissions"}),
        ),
        (
            &providers::mistral::Mistral,
            json!({"permissionMode": "auto-approve"}),
        ),
        (
            &providers::mistral::Mistral,
            json!({"permissionMode": "smart-approve"}),
        ),
    ];
    for (p, mut v) in cases {
        v["prompt"] = json!("x");
        let a = provider_access(p, v.clone());
        for level in [Level::Strict, Level::Balanced] {
            let d = w.policy(level).decide(None, &a);
            assert!(!d.allowed(), "{} {v} under {level}", p.id());
            assert!(d.message().contains("[policy] level"), "{}", d.message());
        }
        assert!(
            w.policy(Level::Permissive).decide(None, &a).allowed(),
            "{v}"
        );
    }
}

#[test]
fn balanced_allows_the_edit_modes_and_strict_does_not() {
    let w = World::new();
    let cases: [(&dyn Provider, Value); 6] = [
        (
            &providers::claude::Claude,
            json!({"permissionMode": "acceptEdits"}),
        ),
        (
            &providers::codex::Codex,
            json!({"sandboxMode": "workspace-write"}),
        ),
        (&providers::codex::Codex, json!({"search": true})),
        (
            &providers::gemini::Gemini,
            json!({"approvalMode": "auto_edit"}),
        ),
        (
            &providers::grok::Grok,
            json!({"permissionMode": "acceptEdits"}),
        ),
        (
            &providers::mistral::Mistral,
            json!({"permissionMode": "accept-edits"}),
        ),
    ];
    for (p, mut v) in cases {
        v["prompt"] = json!("x");
        let a = provider_access(p, v.clone());
        assert!(!w.policy(Level::Strict).decide(None, &a).allowed(), "{v}");
        let d = w.policy(Level::Balanced).decide(None, &a);
        assert!(d.allowed(), "{v}: {}", d.message());
        assert_eq!(d.tier, Tier::WorkspaceWrite);
    }
}

#[test]
fn an_unrestricted_default_gets_a_safer_mode() {
    let w = World::new();
    let vibe = provider_access(&providers::mistral::Mistral, json!({"prompt": "x"}));
    let grok = provider_access(&providers::grok::Grok, json!({"prompt": "x"}));
    let named = |a: &Access, level| {
        let d = w.policy(level).decide(None, a);
        assert!(d.allowed(), "{}", d.message());
        (d.default_override.map(|o| o.value), d.tier)
    };
    assert_eq!(
        named(&vibe, Level::Strict),
        (Some("ask".into()), Tier::ReadOnly)
    );
    assert_eq!(
        named(&vibe, Level::Balanced),
        (Some("accept-edits".into()), Tier::WorkspaceWrite)
    );
    assert_eq!(named(&vibe, Level::Permissive), (None, Tier::Unrestricted));
    assert_eq!(
        named(&grok, Level::Strict),
        (Some("plan".into()), Tier::ReadOnly)
    );
    assert_eq!(
        named(&grok, Level::Balanced),
        (Some("acceptEdits".into()), Tier::WorkspaceWrite)
    );
    // A named mode carries its own tier; no default applies.
    let asked = provider_access(
        &providers::mistral::Mistral,
        json!({"prompt": "x", "permissionMode": "ask"}),
    );
    assert_eq!(
        w.policy(Level::Strict)
            .decide(None, &asked)
            .default_override,
        None
    );
    // A default with no safer mode is refused, naming the mode parameter.
    let bare = Access {
        default_tier: Tier::Unrestricted,
        default_why: "it approves everything".into(),
        ..blank()
    };
    let d = w.policy(Level::Balanced).decide(None, &bare);
    assert!(
        d.message()
            .starts_with("no mode given needs level permissive"),
        "{}",
        d.message()
    );
}

#[test]
fn paths_resolve_inside_roots_only() {
    let w = World::new();
    let p = w.policy(Level::Permissive);
    let ok = p.check_path("cwd", &w.path("u/proj")).unwrap();
    assert_eq!(ok, w.home.join("proj"));
    assert_eq!(
        p.check_path("cwd", &w.path("u/proj/src/../src")).unwrap(),
        w.home.join("proj/src")
    );
    let refused = |value: &str| p.check_path("cwd", value).unwrap_err();

    let r = refused("/");
    assert!(matches!(*r.reason, Reason::PathInGatewayHome { .. }), "{r}");
    let r = refused(&w.gateway.display().to_string());
    assert!(r.message().contains("is in the gateway's home"), "{r}");
    assert!(!r.user_can_allow());
    let r = refused(&w.path("u/proj/../.gw/."));
    assert!(matches!(*r.reason, Reason::PathInGatewayHome { .. }), "{r}");
    let r = refused(&w.home.display().to_string());
    assert!(r.message().contains("contains the gateway's home"), "{r}");
    let r = refused(&w.path("u/proj/../../outside"));
    assert!(matches!(*r.reason, Reason::PathOutsideRoots { .. }), "{r}");
    assert_eq!(r.config_key.as_deref(), Some("[policy] workspace_roots"));
    assert!(r.user_can_allow());
    let r = refused(&w.path("u2"));
    assert!(
        matches!(*r.reason, Reason::PathOutsideRoots { .. }),
        "/home/u2 is not in /home/u: {r}"
    );
    let r = refused("proj");
    assert_eq!(*r.reason, Reason::PathNotAbsolute);
    let r = refused(&w.path("u/nope"));
    assert!(r.message().contains("does not exist"), "{r}");
    assert!(matches!(*refused("").reason, Reason::PathUnusable { .. }));
}

#[test]
fn paths_outside_a_narrower_root() {
    let w = World::new();
    let p = w.policy_with(PolicySettings {
        workspace_roots: Some(vec!["~/proj".into()]),
        ..PolicySettings::default()
    });
    assert!(p.check_path("cwd", &w.path("u/proj/src")).is_ok());
    let r = p.check_path("cwd", &w.path("u/proj/../..")).unwrap_err();
    assert!(matches!(*r.reason, Reason::PathInGatewayHome { .. }), "{r}");
    let r = p.check_path("cwd", &w.path("u/proj/..")).unwrap_err();
    assert!(matches!(*r.reason, Reason::PathInGatewayHome { .. }), "{r}");
    let r = p.check_path("cwd", &w.path("outside")).unwrap_err();
    assert!(r.message().contains("outside the workspace roots"), "{r}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_followed() {
    let w = World::new();
    let p = w.policy(Level::Permissive);
    std::os::unix::fs::symlink(w.base.join("outside"), w.home.join("proj/escape")).unwrap();
    std::os::unix::fs::symlink(&w.gateway, w.home.join("proj/token")).unwrap();
    std::os::unix::fs::symlink(w.home.join("proj/src"), w.home.join("proj/inner")).unwrap();
    let r = p.check_path("cwd", &w.path("u/proj/escape")).unwrap_err();
    assert!(matches!(*r.reason, Reason::PathOutsideRoots { .. }), "{r}");
    let r = p.check_path("cwd", &w.path("u/proj/token")).unwrap_err();
    assert!(matches!(*r.reason, Reason::PathInGatewayHome { .. }), "{r}");
    assert_eq!(
        p.check_path("cwd", &w.path("u/proj/inner")).unwrap(),
        w.home.join("proj/src")
    );
}

#[test]
fn decide_resolves_every_path() {
    let w = World::new();
    let a = provider_access(
        &providers::gemini::Gemini,
        json!({"prompt": "x", "cwd": w.path("u/proj"), "includeDirectories": [w.path("u/proj/src"), "/"]}),
    );
    let d = w.policy(Level::Balanced).decide(None, &a);
    assert_eq!(d.path("cwd"), Some(w.home.join("proj").as_path()));
    assert_eq!(d.paths.len(), 2);
    assert_eq!(d.refusals.len(), 1);
    assert_eq!(d.refusals[0].parameter, "includeDirectories");
    assert_eq!(d.refusals[0].value, "/");
    let extra = Access {
        paths: vec![PathAsk {
            parameter: "attachments".into(),
            value: w.gateway.join("token").display().to_string(),
        }],
        ..blank()
    };
    std::fs::write(w.gateway.join("token"), "secret").unwrap();
    assert!(!w.policy(Level::Permissive).decide(None, &extra).allowed());
}

const FORBIDDEN_KEYS: &[&str] = &[
    "mcp_servers.x.command",
    "MCP_SERVERS.x.command",
    " mcp_servers.x.command",
    "\"mcp_servers\".x",
    "mcp_servers",
    "notify",
    "shell_environment_policy.inherit",
    "profiles.x.model",
    "model_providers.x.base_url",
    "sandbox_mode",
    "approval_policy",
];

#[test]
fn forbidden_codex_keys_are_refused_everywhere() {
    let w = World::new();
    for key in FORBIDDEN_KEYS {
        let e = Policy::new(
            &PolicySettings {
                codex_config_keys: Some(vec![key.to_string()]),
                ..PolicySettings::default()
            },
            &w.home,
            &w.gateway,
        )
        .unwrap_err();
        assert!(
            matches!(e, PolicyError::ForbiddenCodexKey { .. }),
            "{key}: {e}"
        );
        assert!(e.to_string().contains(&format!("{key:?}")), "{e}");
        for level in Level::ALL {
            let r = w
                .policy(level)
                .check_codex_override(key, "/bin/sh")
                .unwrap_err();
            assert!(
                matches!(*r.reason, Reason::CodexKeyForbidden { .. }),
                "{key}: {r}"
            );
            assert_eq!(r.config_key, None);
            assert_eq!(r.needed_level, None);
            assert!(r.message().contains("no level or setting allows it"), "{r}");
        }
    }
}

#[test]
fn the_configoverrides_escape_is_refused_at_permissive() {
    let w = World::new();
    let p = w.policy_with(PolicySettings {
        level: Some(Level::Permissive),
        codex_config_keys: Some(vec!["tui.*".into()]),
        ..PolicySettings::default()
    });
    let a = provider_access(
        &providers::codex::Codex,
        json!({"prompt": "x", "sandboxMode": "read-only", "configOverrides": {
            "mcp_servers.x.command": "/bin/sh",
            "mcp_servers.x.args": "[\"-c\",\"touch /tmp/pwned\"]",
            "model": "gpt-5.5"
        }}),
    );
    let d = p.decide(None, &a);
    assert_eq!(d.refusals.len(), 2, "{}", d.message());
    assert!(!d.user_can_allow());
    assert!(d.refusals.iter().all(|r| r.parameter == "configOverrides"));
}

#[test]
fn allowed_codex_keys() {
    let w = World::new();
    let p = w.policy(Level::Strict);
    for key in ["model", "model_reasoning_effort", " Model "] {
        assert!(p.check_codex_override(key, "high").is_ok(), "{key}");
    }
    let r = p
        .check_codex_override("model_context_window", "1000")
        .unwrap_err();
    assert_eq!(r.config_key.as_deref(), Some("[policy] codex_config_keys"));
    assert!(r.message().contains("model_reasoning_effort"), "{r}");
    let r = p
        .check_codex_override("model", "{x_command = \"sh\"}")
        .unwrap_err();
    assert_eq!(*r.reason, Reason::CodexValueStructured);
    let r = p.check_codex_override("\"model", "x").unwrap_err();
    assert!(
        matches!(*r.reason, Reason::CodexKeyUnreadable { .. }),
        "{r}"
    );

    let p = w.policy_with(PolicySettings {
        codex_config_keys: Some(vec!["model_context_window".into(), "tui.*".into()]),
        ..PolicySettings::default()
    });
    assert!(
        p.check_codex_override("model_context_window", "1000")
            .is_ok()
    );
    assert!(p.check_codex_override("tui.animations", "false").is_ok());
    assert!(p.check_codex_override("tui", "{}").is_err());
    assert!(p.check_codex_override("tui.notify_command", "sh").is_err());
    assert!(p.codex_keys().contains(&"tui.*".to_string()));
    let e = Policy::new(
        &PolicySettings {
            codex_config_keys: Some(vec!["*".into()]),
            ..PolicySettings::default()
        },
        &w.home,
        &w.gateway,
    )
    .unwrap_err();
    assert!(matches!(e, PolicyError::UnreadableCodexKey { .. }), "{e}");
    let overrides = Access {
        codex_overrides: vec![ConfigOverride {
            key: "model".into(),
            value: "o3".into(),
        }],
        ..blank()
    };
    assert!(w.policy(Level::Strict).decide(None, &overrides).allowed());
}

#[test]
fn the_table_comes_from_the_mode_tables() {
    let t = table();
    for p in providers::ALL {
        assert!(t.contains(&format!("| {} |", p.id())), "{t}");
    }
    let claude = rows().into_iter().find(|r| r.provider == "claude").unwrap();
    let by_level: Vec<String> = claude.levels.iter().map(|l| l.values.join("; ")).collect();
    assert!(
        by_level[0].contains("permissionMode: default, plan"),
        "{by_level:?}"
    );
    assert!(
        by_level[1].contains("permissionMode: acceptEdits"),
        "{by_level:?}"
    );
    assert!(by_level[2].contains("bypassPermissions"), "{by_level:?}");
    assert!(
        by_level[2].contains("dangerouslySkipPermissions"),
        "{by_level:?}"
    );
    assert!(!by_level[1].contains("bypassPermissions"), "{by_level:?}");
    let vibe = rows()
        .into_iter()
        .find(|r| r.provider == "mistral")
        .unwrap();
    let named: Vec<_> = vibe.defaults.iter().map(|d| d.named_mode.clone()).collect();
    assert_eq!(
        named,
        [
            Some("permissionMode ask".into()),
            Some("permissionMode accept-edits".into()),
            None
        ]
    );
    assert!(t.contains("mcp_servers"), "{t}");
    assert!(
        t.contains("balanced names permissionMode accept-edits"),
        "{t}"
    );
}

#[test]
fn a_default_home_root_that_cannot_be_one_leaves_no_root_instead_of_failing() {
    let w = World::new();
    // The gateway's files live in the home directory itself (LLM_CLI_GATEWAY_HOME=$HOME).
    let p = Policy::new(&PolicySettings::default(), &w.gateway, &w.gateway).unwrap();
    assert!(p.roots().is_empty());
    // Named by the operator, the same root is an error.
    let named = PolicySettings {
        workspace_roots: Some(vec!["~".into()]),
        ..PolicySettings::default()
    };
    assert!(Policy::new(&named, &w.gateway, &w.gateway).is_err());
}
