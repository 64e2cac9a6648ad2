//! Reading a service manager's view of our service from the text its tools print:
//! `systemctl show`, `launchctl print`, `sc queryex` / `sc qc`.
//!
//! Only the thin command glue in [`super::manager`] is platform-specific; the parsers
//! here are pure, so the launchd and Windows readers are tested on Linux against
//! captured output (macOS and Windows cannot be built on the machines these tests run on).

/// What the service manager reports about our service, in systemd's vocabulary whatever
/// the manager, so `status` and `start` read every backend alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagerView {
    /// "active", "activating", "deactivating", "inactive" or "failed".
    pub active: String,
    /// "enabled", "disabled" or "not-found".
    pub enabled: String,
    pub main_pid: Option<u32>,
    /// Restarts the manager made (systemd `NRestarts`); for launchd, launches after the
    /// first (`runs - 1`), which also counts starts we asked for.
    pub restarts: Option<u32>,
    /// A counter that grows with launches the manager counts: systemd's `NRestarts`
    /// (automatic restarts only), launchd's `runs` (every launch, ours included).
    pub launches: Option<u32>,
    /// The exit code of the last run that ended, when the manager reports one.
    pub last_exit: Option<i32>,
}

impl ManagerView {
    pub fn is_active(&self) -> bool {
        self.active == "active"
    }

    /// Whether a service we just asked to start (with `before` the view taken before
    /// asking) is up or on its way up. A launch count that moves beyond what our own
    /// start explains (`own_launches`: launchd counts every launch, systemd only its
    /// automatic restarts) means this version keeps exiting: stop waiting for it.
    pub fn still_starting(&self, before: Option<&ManagerView>, own_launches: u32) -> bool {
        let before_launches = before.and_then(|b| b.launches);
        let crash_looping = matches!(
            (self.launches, before_launches),
            (Some(now), Some(was)) if now > was + own_launches
        );
        if crash_looping {
            return false;
        }
        match self.active.as_str() {
            "active" | "activating" | "reloading" => true,
            // launchd may not have spawned the job yet: until the launch count moves,
            // "not running" is the state before our start, not a verdict on it.
            "inactive" if own_launches > 0 => {
                self.launches.is_some() && self.launches == before_launches
            }
            _ => false,
        }
    }
}

/// `systemctl show -p ActiveState,UnitFileState,MainPID,NRestarts` output.
pub fn parse_systemctl_show(out: &str) -> ManagerView {
    let mut v = ManagerView::default();
    for line in out.lines() {
        match line.split_once('=') {
            Some(("ActiveState", s)) => v.active = s.to_string(),
            Some(("UnitFileState", s)) => {
                v.enabled = if s.is_empty() {
                    "not-found".into()
                } else {
                    s.to_string()
                }
            }
            Some(("MainPID", s)) => v.main_pid = s.parse().ok().filter(|p| *p > 0),
            Some(("NRestarts", s)) => {
                v.restarts = s.parse().ok();
                v.launches = v.restarts;
            }
            _ => {}
        }
    }
    v
}

/// The `launchctl print` targets where our job may be loaded, most likely first: the
/// system domain for a daemon; for an agent the GUI login session, then the per-user
/// domain (what `launchctl load` uses from an SSH session).
pub fn launchd_targets(system: bool, uid: u32, label: &str) -> Vec<String> {
    if system {
        vec![format!("system/{label}")]
    } else {
        vec![format!("gui/{uid}/{label}"), format!("user/{uid}/{label}")]
    }
}

/// `launchctl print <domain>/<label>` output: the job's own top-level `key = value`
/// lines (`state`, `pid`, `runs`, `last exit code`). Nested blocks (`environment = {`,
/// `endpoints = {` ...) hold keys of the same names for other things and are skipped.
/// `enabled` is left to the caller: launchd does not print it here.
pub fn parse_launchctl_print(out: &str) -> ManagerView {
    let mut v = ManagerView::default();
    let mut state = String::new();
    let mut runs: Option<u32> = None;
    let mut depth = 0usize;
    for line in out.lines() {
        let line = line.trim();
        if line == "}" {
            depth = depth.saturating_sub(1);
            continue;
        }
        let opens = line.ends_with('{');
        if depth == 1
            && !opens
            && let Some((key, value)) = line.split_once(" = ")
        {
            let value = value.trim();
            match key.trim() {
                "state" => state = value.to_string(),
                "pid" => v.main_pid = value.parse().ok().filter(|p| *p > 0),
                "runs" => runs = value.parse().ok(),
                "last exit code" => v.last_exit = leading_int(value),
                _ => {}
            }
        }
        if opens {
            depth += 1;
        }
    }
    v.restarts = runs.map(|r| r.saturating_sub(1));
    v.launches = runs;
    v.active = match state.as_str() {
        "running" => "active",
        "spawn scheduled" | "spawning" | "xpcproxy" => "activating",
        _ if v.last_exit.is_some_and(|c| c != 0) => "failed",
        _ => "inactive",
    }
    .to_string();
    if v.active != "active" {
        v.main_pid = None;
    }
    v
}

/// `sc queryex <name>` output (STATE, PID, WIN32_EXIT_CODE), optionally followed by
/// `sc qc <name>` output (START_TYPE). The labels are not localised; the numeric codes
/// are read rather than the English words after them.
pub fn parse_sc(out: &str) -> ManagerView {
    let mut v = ManagerView::default();
    let mut state = None;
    let mut start_type = None;
    for line in out.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "STATE" => state = leading_int(value),
            "PID" => v.main_pid = value.parse().ok().filter(|p| *p > 0),
            "WIN32_EXIT_CODE" => v.last_exit = leading_int(value),
            "START_TYPE" => start_type = leading_int(value),
            _ => {}
        }
    }
    v.active = match state {
        Some(4) => "active",
        Some(2 | 5) => "activating",
        Some(3 | 6 | 7) => "deactivating",
        Some(1) if v.last_exit.is_some_and(|c| c != 0) => "failed",
        _ => "inactive",
    }
    .to_string();
    v.enabled = match start_type {
        Some(0..=2) => "enabled",
        Some(3 | 4) => "disabled",
        _ => "",
    }
    .to_string();
    if v.active != "active" {
        v.main_pid = None;
    }
    v
}

/// `sc` exits with 1060 (ERROR_SERVICE_DOES_NOT_EXIST) for a service that is not
/// installed, and prints the code too.
pub fn sc_not_installed(exit_code: Option<i32>, out: &str) -> bool {
    exit_code == Some(1060) || out.contains("FAILED 1060")
}

/// The view of a job or service the manager does not know.
pub fn not_loaded(definition_exists: bool) -> ManagerView {
    ManagerView {
        active: "inactive".into(),
        enabled: if definition_exists {
            "enabled"
        } else {
            "not-found"
        }
        .into(),
        ..ManagerView::default()
    }
}

fn leading_int(s: &str) -> Option<i32> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-')))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `launchctl print gui/501/dev.llm-cli-gateway.gateway` on macOS 14, job running.
    const LAUNCHCTL_RUNNING: &str = "gui/501/dev.llm-cli-gateway.gateway = {
\tactive count = 1
\tpath = /Users/ann/Library/LaunchAgents/dev.llm-cli-gateway.gateway.plist
\ttype = LaunchAgent
\tstate = running

\tprogram = /Users/ann/Library/Application Support/llm-cli-gateway/current/bin/llm-cli-gateway
\targuments = {
\t\t/Users/ann/Library/Application Support/llm-cli-gateway/current/bin/llm-cli-gateway
\t\tserve
\t}

\tworking directory = /Users/ann/Library/Application Support/llm-cli-gateway

\tstdout path = /Users/ann/Library/Application Support/llm-cli-gateway/logs/gateway.log
\tstderr path = /Users/ann/Library/Application Support/llm-cli-gateway/logs/gateway.log
\tinherited environment = {
\t\tSSH_AUTH_SOCK => /private/tmp/com.apple.launchd.x/Listeners
\t}

\tdefault environment = {
\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin
\t}

\tenvironment = {
\t\tPATH => /Users/ann/.nvm/versions/node/v20/bin:/usr/bin:/bin
\t\tXPC_SERVICE_NAME => dev.llm-cli-gateway.gateway
\t}

\tdomain = gui/501 [100005]
\tasid = 100005
\tminimum runtime = 10
\texit timeout = 5
\truns = 3
\tpid = 48213
\timmediate reason = speculative
\tforks = 0
\texecs = 1
\tinitialized = 1
\ttrampolined = 1
\tstarted suspended = 0
\tproxy started suspended = 0
\tlast exit code = 1

\tevent triggers = {
\t\tdev.llm-cli-gateway.gateway.KeepAlive = {
\t\t\tstate = 1
\t\t\tpid = 7
\t\t}
\t}

\tspawn type = daemon (3)
\tjetsam priority = 40
\tproperties = keepalive | runatload | inferred program
}
";

    /// The same job after `launchctl stop` (clean exit, not respawned).
    const LAUNCHCTL_STOPPED: &str = "gui/501/dev.llm-cli-gateway.gateway = {
\tactive count = 0
\tpath = /Users/ann/Library/LaunchAgents/dev.llm-cli-gateway.gateway.plist
\ttype = LaunchAgent
\tstate = not running

\tdomain = gui/501 [100005]
\truns = 4
\tlast exit code = 0
\tspawn type = daemon (3)
}
";

    #[test]
    fn launchctl_running_job() {
        let v = parse_launchctl_print(LAUNCHCTL_RUNNING);
        assert_eq!(v.active, "active");
        assert!(v.is_active());
        // The top-level pid, not the one inside `event triggers`.
        assert_eq!(v.main_pid, Some(48213));
        assert_eq!(v.restarts, Some(2));
        assert_eq!(v.last_exit, Some(1));
    }

    #[test]
    fn launchctl_stopped_crashed_and_throttled_jobs() {
        let v = parse_launchctl_print(LAUNCHCTL_STOPPED);
        assert_eq!(
            (v.active.as_str(), v.main_pid, v.restarts),
            ("inactive", None, Some(3))
        );
        let crashed =
            LAUNCHCTL_STOPPED.replace("last exit code = 0", "last exit code = 78: EX_CONFIG");
        let v = parse_launchctl_print(&crashed);
        assert_eq!((v.active.as_str(), v.last_exit), ("failed", Some(78)));
        let throttled = LAUNCHCTL_STOPPED.replace("not running", "spawn scheduled");
        assert_eq!(parse_launchctl_print(&throttled).active, "activating");
        let never =
            LAUNCHCTL_STOPPED.replace("last exit code = 0", "last exit code = (never exited)");
        let v = parse_launchctl_print(&never);
        assert_eq!((v.active.as_str(), v.last_exit), ("inactive", None));
    }

    #[test]
    fn launchctl_garbage_is_inactive_not_a_panic() {
        for text in [
            "",
            "Could not find service \"x\" in domain for port",
            "{\n}\n}\n}\n\tpid = 5",
        ] {
            assert_eq!(parse_launchctl_print(text), not_loaded_view());
        }
        let v = parse_launchctl_print("a = {\n\tpid = -4\n\tstate = running\n\truns = x\n}");
        assert_eq!(
            (v.active.as_str(), v.main_pid, v.launches),
            ("active", None, None)
        );
    }

    fn not_loaded_view() -> ManagerView {
        ManagerView {
            active: "inactive".into(),
            ..ManagerView::default()
        }
    }

    #[test]
    fn launchd_targets_by_level() {
        assert_eq!(launchd_targets(true, 0, "l"), vec!["system/l"]);
        assert_eq!(
            launchd_targets(false, 501, "l"),
            vec!["gui/501/l", "user/501/l"]
        );
    }

    /// `sc queryex llm-cli-gateway` then `sc qc llm-cli-gateway`, service running.
    const SC_RUNNING: &str = "\r
SERVICE_NAME: llm-cli-gateway \r
        TYPE               : 10  WIN32_OWN_PROCESS  \r
        STATE              : 4  RUNNING \r
                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)\r
        WIN32_EXIT_CODE    : 0  (0x0)\r
        SERVICE_EXIT_CODE  : 0  (0x0)\r
        CHECKPOINT         : 0x0\r
        WAIT_HINT          : 0x0\r
        PID                : 6120\r
        FLAGS              :\r
[SC] QueryServiceConfig SUCCESS\r
\r
SERVICE_NAME: llm-cli-gateway\r
        TYPE               : 10  WIN32_OWN_PROCESS \r
        START_TYPE         : 2   AUTO_START\r
        ERROR_CONTROL      : 1   NORMAL\r
        BINARY_PATH_NAME   : \"C:\\Users\\A B\\AppData\\Local\\llm-cli-gateway\\current\\bin\\llm-cli-gateway.exe\" serve\r
        LOAD_ORDER_GROUP   :\r
        TAG                : 0\r
        DISPLAY_NAME       : llm-cli-gateway\r
        DEPENDENCIES       :\r
        SERVICE_START_NAME : LocalSystem\r
";

    #[test]
    fn sc_running_service() {
        let v = parse_sc(SC_RUNNING);
        assert_eq!(v.active, "active");
        assert_eq!(v.enabled, "enabled");
        assert_eq!(v.main_pid, Some(6120));
        assert_eq!(v.last_exit, Some(0));
    }

    #[test]
    fn sc_stopped_pending_and_failed() {
        let stopped = SC_RUNNING
            .replace("4  RUNNING", "1  STOPPED")
            .replace("6120", "0")
            .replace("2   AUTO_START", "3   DEMAND_START");
        let v = parse_sc(&stopped);
        assert_eq!(
            (v.active.as_str(), v.enabled.as_str(), v.main_pid),
            ("inactive", "disabled", None)
        );
        let failed = stopped.replace(
            "WIN32_EXIT_CODE    : 0  (0x0)",
            "WIN32_EXIT_CODE    : 1067  (0x42b)",
        );
        assert_eq!(parse_sc(&failed).active, "failed");
        let pending = SC_RUNNING.replace("4  RUNNING", "2  START_PENDING");
        let v = parse_sc(&pending);
        assert_eq!((v.active.as_str(), v.main_pid), ("activating", None));
        assert_eq!(
            parse_sc(&SC_RUNNING.replace("4  RUNNING", "3  STOP_PENDING")).active,
            "deactivating"
        );
    }

    #[test]
    fn sc_missing_service() {
        let out = "[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n";
        assert!(sc_not_installed(Some(1060), ""));
        assert!(sc_not_installed(Some(1), out));
        assert!(!sc_not_installed(Some(0), SC_RUNNING));
        assert_eq!(parse_sc(out).active, "inactive");
        assert_eq!(not_loaded(false).enabled, "not-found");
        assert_eq!(not_loaded(true).enabled, "enabled");
    }

    #[test]
    fn systemctl_show_parses_as_before() {
        let v = parse_systemctl_show(
            "ActiveState=active\nUnitFileState=enabled\nMainPID=321\nNRestarts=2\n",
        );
        assert_eq!(
            v,
            ManagerView {
                active: "active".into(),
                enabled: "enabled".into(),
                main_pid: Some(321),
                restarts: Some(2),
                launches: Some(2),
                last_exit: None,
            }
        );
        let v = parse_systemctl_show("ActiveState=inactive\nUnitFileState=\nMainPID=0\n");
        assert_eq!((v.enabled.as_str(), v.main_pid), ("not-found", None));
    }

    fn view(active: &str, launches: Option<u32>) -> ManagerView {
        ManagerView {
            active: active.into(),
            launches,
            ..ManagerView::default()
        }
    }

    #[test]
    fn still_starting_systemd_counts_only_automatic_restarts() {
        let before = view("inactive", Some(0));
        assert!(view("activating", Some(0)).still_starting(Some(&before), 0));
        assert!(view("active", Some(0)).still_starting(Some(&before), 0));
        assert!(!view("activating", Some(1)).still_starting(Some(&before), 0));
        assert!(!view("failed", Some(0)).still_starting(Some(&before), 0));
        assert!(!view("inactive", Some(0)).still_starting(Some(&before), 0));
        assert!(view("active", None).still_starting(None, 0));
    }

    #[test]
    fn still_starting_launchd_allows_its_own_launch() {
        let before = view("inactive", Some(3));
        // Not spawned yet, then spawned by our start: both fine.
        assert!(view("inactive", Some(3)).still_starting(Some(&before), 1));
        assert!(view("active", Some(4)).still_starting(Some(&before), 1));
        // Exited after our launch, or relaunched by KeepAlive: this version does not stay up.
        assert!(!view("failed", Some(4)).still_starting(Some(&before), 1));
        assert!(!view("inactive", Some(4)).still_starting(Some(&before), 1));
        assert!(!view("activating", Some(5)).still_starting(Some(&before), 1));
    }
}
