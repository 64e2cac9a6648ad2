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
            "auto" => Ok(detect(system)),
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

/// The best working backend on this machine. On Windows that is the process backend
/// until the service backend is complete (see [`WINDOWS_SERVICE_MISSING`]).
pub fn detect(system: bool) -> Backend {
    if cfg!(target_os = "macos") {
        return Backend::Launchd(if system || is_root() {
            Level::System
        } else {
            Level::User
        });
    }
    if cfg!(target_os = "linux") && systemd_works() {
        if system || is_root() {
            return Backend::Systemd(Level::System);
        }
        if user_manager_works() {
            return Backend::Systemd(Level::User);
        }
    }
    Backend::Process
}

/// systemd is PID 1 and answers: `is-system-running` prints a state (even "degraded")
/// only when it can talk to the manager.
fn systemd_works() -> bool {
    if !std::path::Path::new("/run/systemd/system").is_dir() {
        return false;
    }
    let out = Command::new("systemctl")
        .arg("is-system-running")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(o) => {
            let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
            matches!(
                state.as_str(),
                "running" | "degraded" | "starting" | "initializing" | "maintenance"
            )
        }
        Err(_) => false,
    }
}

/// A per-user manager is reachable: `XDG_RUNTIME_DIR` with the user bus, or the
/// manager's private socket (what `systemctl --user` falls back to without
/// dbus-user-session).
fn user_manager_works() -> bool {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(|d| {
            let d = std::path::Path::new(&d);
            d.join("bus").exists() || d.join("systemd/private").exists()
        })
        .unwrap_or(false)
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
        assert_ne!(detect(false), Backend::Windows);
    }
}
