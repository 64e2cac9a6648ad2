//! OS service managers (systemd, launchd, Windows services) through `service-manager`,
//! with what the crate leaves out done here: `daemon-reload` after writing or removing a
//! unit, stopping before uninstalling, our own quoted definitions, and reading the
//! manager's view (active, enabled, main pid, restarts) for `status` from each manager's
//! query tool (parsed in [`super::view`]). Windows services are only read and removed:
//! installing one is refused (see [`super::backend::WINDOWS_SERVICE_MISSING`]).

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use service_manager::{
    LaunchdServiceManager, RestartPolicy, ScServiceManager, ServiceInstallCtx, ServiceLabel,
    ServiceManager, ServiceStartCtx, ServiceStopCtx, ServiceUninstallCtx, SystemdServiceManager,
};

use super::backend::{Backend, Level};
use super::definition::{self, LAUNCHD_LABEL, ServiceSpec, UNIT_NAME};
use super::view;

pub use super::view::ManagerView;

fn label(backend: Backend) -> ServiceLabel {
    let name = match backend {
        Backend::Launchd(_) => LAUNCHD_LABEL,
        _ => UNIT_NAME,
    };
    name.parse().expect("service labels always parse")
}

fn crate_manager(backend: Backend) -> Result<Box<dyn ServiceManager>> {
    Ok(match backend {
        Backend::Systemd(Level::System) => Box::new(SystemdServiceManager::system()),
        Backend::Systemd(Level::User) => Box::new(SystemdServiceManager::user()),
        Backend::Launchd(Level::System) => Box::new(LaunchdServiceManager::system()),
        Backend::Launchd(Level::User) => Box::new(LaunchdServiceManager::user()),
        Backend::Windows => Box::new(ScServiceManager::system()),
        Backend::Process => bail!("the process backend has no service manager"),
    })
}

/// Where the definition lives (what `status` shows and `repair` checks).
pub fn definition_path(backend: Backend) -> Option<PathBuf> {
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    match backend {
        Backend::Systemd(Level::System) => Some(PathBuf::from(format!(
            "/etc/systemd/system/{UNIT_NAME}.service"
        ))),
        Backend::Systemd(Level::User) => {
            let base = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(".config")))?;
            Some(base.join(format!("systemd/user/{UNIT_NAME}.service")))
        }
        Backend::Launchd(Level::System) => Some(PathBuf::from(format!(
            "/Library/LaunchDaemons/{LAUNCHD_LABEL}.plist"
        ))),
        Backend::Launchd(Level::User) => {
            home().map(|h| h.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist")))
        }
        Backend::Windows | Backend::Process => None,
    }
}

/// The definition text we would write for `backend` now.
pub fn render(backend: Backend, spec: &ServiceSpec) -> Option<String> {
    match backend {
        Backend::Systemd(_) => Some(definition::systemd_unit(spec)),
        Backend::Launchd(_) => Some(definition::launchd_plist(spec)),
        Backend::Windows | Backend::Process => None,
    }
}

/// Writes the definition, reloads the manager and enables the service (start at boot or
/// login). Does not start it.
pub fn install(backend: Backend, spec: &ServiceSpec) -> Result<Option<PathBuf>> {
    if backend == Backend::Windows {
        // A configuration written before the backend was refused still names it.
        return Err(crate::platform::error::coded(
            "service-backend-unavailable",
            super::backend::WINDOWS_SERVICE_MISSING,
        ));
    }
    let manager = crate_manager(backend)?;
    let ctx = ServiceInstallCtx {
        label: label(backend),
        program: spec.program.clone(),
        args: spec.args.iter().map(OsString::from).collect(),
        contents: render(backend, spec),
        username: None,
        working_directory: Some(spec.working_dir.clone()),
        environment: Some(spec.env.clone()),
        autostart: true,
        restart_policy: RestartPolicy::OnFailure {
            delay_secs: Some(1),
            max_retries: None,
            reset_after_secs: None,
        },
    };
    manager
        .install(ctx)
        .map_err(|e| refused(backend, "install the service", e))?;
    if let Backend::Systemd(level) = backend {
        systemctl(level, &["daemon-reload"])?;
    }
    Ok(definition_path(backend))
}

/// Stops, disables and removes the service, then reloads the manager. Absent is fine.
pub fn uninstall(backend: Backend) -> Result<bool> {
    let path = definition_path(backend);
    if path.as_ref().is_some_and(|p| !p.exists()) && !matches!(backend, Backend::Windows) {
        if let Backend::Systemd(level) = backend {
            let _ = systemctl(level, &["reset-failed", &unit()]);
        }
        return Ok(false);
    }
    let _ = stop(backend);
    let manager = crate_manager(backend)?;
    manager
        .uninstall(ServiceUninstallCtx {
            label: label(backend),
        })
        .map_err(|e| refused(backend, "remove the service", e))?;
    if let Backend::Systemd(level) = backend {
        systemctl(level, &["daemon-reload"])?;
        let _ = systemctl(level, &["reset-failed", &unit()]);
    }
    Ok(true)
}

/// Clears a "failed" state (and the restart counter) left by an earlier crash loop, so
/// a start is not refused by the start limit.
pub fn reset_failed(backend: Backend) {
    if let Backend::Systemd(level) = backend {
        let _ = systemctl(level, &["reset-failed", &unit()]);
    }
}

pub fn start(backend: Backend) -> Result<()> {
    match backend {
        Backend::Systemd(level) => systemctl(level, &["start", &unit()]).map(|_| ()),
        _ => crate_manager(backend)?
            .start(ServiceStartCtx {
                label: label(backend),
            })
            .map_err(|e| refused(backend, "start the service", e)),
    }
}

pub fn stop(backend: Backend) -> Result<()> {
    match backend {
        Backend::Systemd(level) => systemctl(level, &["stop", &unit()]).map(|_| ()),
        _ => crate_manager(backend)?
            .stop(ServiceStopCtx {
                label: label(backend),
            })
            .map_err(|e| refused(backend, "stop the service", e)),
    }
}

/// The manager's view of the service; `None` when its tool cannot be run or queried.
pub fn view(backend: Backend) -> Option<ManagerView> {
    match backend {
        Backend::Systemd(level) => systemctl(
            level,
            &[
                "show",
                &unit(),
                "-p",
                "ActiveState,UnitFileState,MainPID,NRestarts",
            ],
        )
        .ok()
        .map(|out| view::parse_systemctl_show(&out)),
        Backend::Launchd(level) => launchd_view(level),
        Backend::Windows => windows_view(),
        Backend::Process => None,
    }
}

/// How many launches the manager counts for one start we ask for (see
/// [`ManagerView::still_starting`]).
pub fn own_launches(backend: Backend) -> u32 {
    match backend {
        Backend::Launchd(_) => 1,
        _ => 0,
    }
}

/// `launchctl print` in each domain the job may be loaded in. A job found in none is
/// "inactive", enabled when its plist is in place (launchd loads it at the next boot or
/// login).
fn launchd_view(level: Level) -> Option<ManagerView> {
    let targets = view::launchd_targets(level == Level::System, current_uid(), LAUNCHD_LABEL);
    for target in &targets {
        let (code, out) = capture("launchctl", &["print", target])?;
        if code == Some(0) {
            let mut v = view::parse_launchctl_print(&out);
            v.enabled = "enabled".into();
            return Some(v);
        }
    }
    let installed = definition_path(Backend::Launchd(level)).is_some_and(|p| p.exists());
    Some(view::not_loaded(installed))
}

/// `sc queryex` for the state and pid, `sc qc` for the start type.
fn windows_view() -> Option<ManagerView> {
    let (code, query) = capture("sc.exe", &["queryex", UNIT_NAME])?;
    if view::sc_not_installed(code, &query) {
        return Some(view::not_loaded(false));
    }
    if code != Some(0) {
        return None;
    }
    let config = capture("sc.exe", &["qc", UNIT_NAME])
        .map(|(_, out)| out)
        .unwrap_or_default();
    Some(view::parse_sc(&format!("{query}\n{config}")))
}

/// Runs a manager's query tool: its exit code and stdout (with stderr appended, where
/// launchctl and sc put some answers); `None` when it cannot be run at all.
fn capture(program: &str, args: &[&str]) -> Option<(Option<i32>, String)> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some((out.status.code(), text))
}

fn current_uid() -> u32 {
    #[cfg(unix)]
    {
        // SAFETY: getuid has no preconditions and cannot fail.
        unsafe { libc::getuid() }
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// Lets a user's services run without a login session and start at boot.
pub fn enable_linger() -> Result<(), String> {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map_err(|_| "cannot tell the user name (USER is unset)".to_string())?;
    let out = Command::new("loginctl")
        .args(["enable-linger", &user])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("loginctl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

pub fn linger_enabled() -> bool {
    let user = std::env::var("USER").unwrap_or_default();
    std::path::Path::new("/var/lib/systemd/linger")
        .join(user)
        .exists()
}

fn unit() -> String {
    format!("{UNIT_NAME}.service")
}

fn systemctl(level: Level, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("systemctl");
    if level == Level::User {
        cmd.arg("--user");
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running systemctl")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(refused(
            Backend::Systemd(level),
            &format!(
                "run `systemctl {}{}`",
                if level == Level::User { "--user " } else { "" },
                args.join(" ")
            ),
            io::Error::other(err),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A manager error with what to do about it; permission problems point at the choices.
fn refused(backend: Backend, what: &str, e: io::Error) -> anyhow::Error {
    let msg = e.to_string();
    let denied = e.kind() == io::ErrorKind::PermissionDenied
        || msg.contains("Access denied")
        || msg.contains("Permission denied")
        || msg.contains("Interactive authentication required");
    let help = if denied {
        format!(
            "\nhelp: the {} service manager refused (permission denied). Run as root for a system service, \
             or choose `--service-backend systemd-user` or `--service-backend process` (no service manager)",
            backend.name()
        )
    } else {
        "\nhelp: `--service-backend process` runs the gateway without a service manager".to_string()
    };
    crate::platform::error::coded(
        if denied {
            "service-permission-denied"
        } else {
            "service-manager-failed"
        },
        format!("could not {what} with {}: {msg}{help}", backend.name()),
    )
}
