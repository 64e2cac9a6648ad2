//! Service backends that cannot run here: the Windows service backend is refused with
//! what is missing, and a backend whose manager cannot be asked still sees a healthy
//! gateway through `/healthz`.

mod support;

use support::{Home, parse_one_document};

#[test]
fn windows_service_backend_is_refused_and_nothing_is_installed() {
    let home = Home::new();
    let before = home.snapshot();
    for choice in ["windows", "windows-service"] {
        let (doc, code) = home.json(&["setup", "--yes", "--service-backend", choice]);
        assert_eq!(code, 2, "{doc:#}");
        assert_eq!(doc["error"]["code"], "usage", "{doc:#}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains("service-control dispatcher"), "{message}");
        let hint = doc["error"]["hint"].as_str().unwrap();
        assert!(hint.contains("--service-backend process"), "{hint}");
    }
    assert!(home.snapshot() == before, "a refused setup wrote files");
}

/// Rewrites the recorded backend, as a configuration from an older build would have it.
fn record_backend(home: &Home, name: &str) {
    let cfg = home.path().join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("service_backend"))
        .unwrap()
        .to_string();
    std::fs::write(
        &cfg,
        text.replace(&line, &format!("service_backend = \"{name}\"")),
    )
    .unwrap();
}

#[test]
fn recorded_windows_backend_reports_the_healthy_gateway_and_refuses_reinstall() {
    let home = Home::new();
    home.setup();
    let token = home.token();
    record_backend(&home, "windows-service");

    // `sc.exe` cannot be run here, so there is no manager view: the healthy probe is
    // taken as the running gateway instead of reporting "stopped".
    let (status, code) = home.json(&["status"]);
    assert_eq!(
        status["service"]["backend"], "windows-service",
        "{status:#}"
    );
    assert_eq!(status["service"]["state"], "running", "{status:#}");
    assert!(status["service"]["pid"].as_u64().is_some(), "{status:#}");
    assert_eq!(
        status["service"]["pid"], status["service"]["gateway_pid"],
        "{status:#}"
    );
    assert_eq!(code, 0, "{status:#}");

    // Re-running setup on that configuration refuses to install the service.
    let out = home
        .cmd()
        .env_remove("LLM_CLI_GATEWAY_SERVICE_BACKEND")
        .args(["setup", "--yes", "--json"])
        .output()
        .unwrap();
    let doc = parse_one_document(&out);
    assert_eq!(out.status.code(), Some(1), "{doc:#}");
    assert_eq!(
        doc["error"]["code"], "service-backend-unavailable",
        "{doc:#}"
    );
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sc failure"),
        "{doc:#}"
    );
    assert_eq!(home.token(), token, "the refused setup lost the token");

    // Back to the process backend so the Drop guard's `stop` stops the gateway.
    record_backend(&home, "process");
    let (after, _) = home.json(&["status"]);
    assert_eq!(after["service"]["state"], "running", "{after:#}");
}
