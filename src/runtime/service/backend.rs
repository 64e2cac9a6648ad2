//! Which service manager runs the gateway, and how we decide.
//!
//! Detection asks for a *working* manager, not a binary on PATH: containers, WSL1 and CI
//! images often ship `systemctl` with no systemd running, and a unit written there never
//! starts. Where none works, the process backend (our own supervisor) is used.

use std::process::{Command, Stdio};

/// Where a systemd unit or launchd job lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Machine-wide (root): `/etc/systemd/system`, `/Library/LaunchDaemons`.
    System,
    /// Per user: `~/.config/systemd/user` (+ linger), `~/Library/LaunchAgents`.
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Process,
    Systemd(Level),
    Launchd(Level),
    Windows,
}

impl Backend {
    /// The name recorded in config.toml and the receipt, and shown by `status`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Process => "process",
            Backend::Systemd(Level::System) => "systemd-system",
            Backend::Systemd(Level::User) => "systemd-user",
            Backend::Launchd(Level::System) => "launchd-daemon",
            Backend::Launchd(Level::User) => "launchd-agent",
            Backend::Windows => "windows-service",
        }
    }

    pub fn parse(name: &str) -> Option<Backend> {
        Some(match name {
            "process" => Backend::Process,
            "systemd-system" => Backend::Systemd(Level::System),
            "systemd-user" => Backend::Systemd(Level::User),
            "launchd-daemon" => Backend::Launchd(Level::System),
            "launchd-agent" => Backend::Launchd(Level::User),
            "windows-service" => Backend::Windows,
            _ => return None,
        })
    }

    /// Resolves a `--service-backend` choice: `auto` detects; `systemd` and `launchd`
    /// pick the level from who is running (root → system) unless `system` forces it.
    pub fn choose(choice: &str, system: bool) -> Result<Backend, String> {
        let level = if system || is_root() {
            Level::System
        } else {
            Level::User
        };
        match choice {
            "auto" => Ok(detect(system).backend),
            "systemd" => Ok(Backend::Systemd(level)),
            "launchd" => Ok(Backend::Launchd(level)),
            "windows" | "windows-service" => Err(WINDOWS_SERVICE_MISSING.to_string()),
            other => Backend::parse(other).ok_or_else(|| {
                format!(
                    "unknown service backend {other:?}; expected auto, process, systemd, launchd or windows"
                )
            }),
        }
    }
}

/// Why `--service-backend windows` is refused rather than installing a service that
/// cannot run: the pieces a Windows service needs and this build does not have.
pub const WINDOWS_SERVICE_MISSING: &str = "the Windows service backend is not available in this build: \
`llm-cli-gateway serve` has no service-control dispatcher, so the Service Control Manager would stop it \
about 30 seconds after every start, and restart-on-failure (`sc failure`), the captured PATH/HOME and a \
log file are not set up for the service either\n\
help: use `--service-backend process` (the gateway under our own supervisor, started with `llm-cli-gateway start`)";

/// What [`detect`] chose, and why, in words for the user.
#[derive(Debug, Clone)]
pub struct Detected {
    pub backend: Backend,
    pub reason: String,
}

/// The best working backend on this machine: a manager that answers, not one whose
/// binary merely exists (containers and CI have `systemctl` but no running systemd).
pub fn detect(system: bool) -> Detected {
    let level = if system || is_root() {
        Level::System
    } else {
        Level::User
    };
    let pick = |backend, reason: String| Detected { backend, reason };
    if cfg!(target_os = "macos") {
        return pick(Backend::Launchd(level), "macOS: launchd".into());
    }
    if cfg!(windows) {
        // Until the service backend is complete (see WINDOWS_SERVICE_MISSING).
        return pick(
            Backend::Process,
            "Windows services are not available in this build; using the gateway's own supervisor"
                .into(),
        );
    }
    if !cfg!(target_os = "linux") {
        return pick(
            Backend::Process,
            "no supported service manager on this OS; using the gateway's own supervisor".into(),
        );
    }
    let state = match systemd_state() {
        Ok(state) => state,
        Err(why) => {
            return pick(
                Backend::Process,
                format!(
                    "{why} (a container, WSL1 or CI?); using the gateway's own supervisor, which does not survive a reboot"
                ),
            );
        }
    };
    if level == Level::System {
        return pick(
            Backend::Systemd(Level::System),
            format!("systemd answers ({state}); system level as root or with --system"),
        );
    }
    match user_manager() {
        Ok(()) => pick(
            Backend::Systemd(Level::User),
            format!("systemd answers ({state}) and this user's manager is reachable"),
        ),
        Err(why) => pick(
            Backend::Process,
            format!(
                "systemd runs but {why}; using the gateway's own supervisor (or run setup as root / with --system)"
            ),
        ),
    }
}

/// systemd is PID 1 and answers: `is-system-running` prints a state (even "degraded")
/// only when it can talk to the manager. Err says why it does not work.
fn systemd_state() -> Result<String, String> {
    if !std::path::Path::new("/run/systemd/system").is_dir() {
        return Err("systemd is not running (/run/systemd/system is missing)".into());
    }
    let out = Command::new("systemctl")
        .arg("is-system-running")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("`systemctl is-system-running` could not run: {e}"))?;
    let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if matches!(
        state.as_str(),
        "running" | "degraded" | "starting" | "initializing" | "maintenance"
    ) {
        Ok(state)
    } else {
        Err(format!(
            "`systemctl is-system-running` answered {state:?}, not a running manager"
        ))
    }
}

/// A per-user manager is reachable: `XDG_RUNTIME_DIR` with the user bus, or the
/// manager's private socket (what `systemctl --user` falls back to without
/// dbus-user-session).
fn user_manager() -> Result<(), String> {
    let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") else {
        return Err("XDG_RUNTIME_DIR is not set, so no per-user manager is reachable".into());
    };
    let dir = std::path::Path::new(&dir);
    if dir.join("bus").exists() || dir.join("systemd/private").exists() {
        Ok(())
    } else {
        Err(format!(
            "no per-user manager answers in {} (no bus or systemd/private)",
            dir.display()
        ))
    }
}

pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in [
            Backend::Process,
            Backend::Systemd(Level::System),
            Backend::Systemd(Level::User),
            Backend::Launchd(Level::System),
            Backend::Launchd(Level::User),
            Backend::Windows,
        ] {
            assert_eq!(Backend::parse(b.name()), Some(b));
        }
        assert!(Backend::choose("upstart", false).is_err());
        assert_eq!(Backend::choose("process", false), Ok(Backend::Process));
        assert_eq!(
            Backend::choose("systemd", true),
            Ok(Backend::Systemd(Level::System))
        );
    }

    #[test]
    fn windows_service_is_refused_with_what_is_missing() {
        for choice in ["windows", "windows-service"] {
            let err = Backend::choose(choice, false).unwrap_err();
            assert!(err.contains("service-control dispatcher"), "{err}");
            assert!(err.contains("sc failure"), "{err}");
            assert!(
                err.contains("help: use `--service-backend process`"),
                "{err}"
            );
        }
        // Auto-detection never picks it.
        assert_ne!(detect(false).backend, Backend::Windows);
    }
}
