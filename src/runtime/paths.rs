//! Where every file lives.
//!
//! `LLM_CLI_GATEWAY_HOME` puts everything under one root (tests, CI, portable installs);
//! otherwise configuration goes to the platform config dir and state to the local data
//! dir, as `directories` defines them per OS.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use crate::platform::build::HOME_ENV;

/// The resolved locations of one installation.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Holds `config.toml` and `auth-token`.
    pub config_dir: PathBuf,
    /// Holds versions, receipt, cache, logs, run state and the job store.
    pub data_dir: PathBuf,
}

impl Paths {
    /// Resolves from `LLM_CLI_GATEWAY_HOME` or the platform directories.
    pub fn resolve() -> Result<Self> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            let home = PathBuf::from(home);
            let home = if home.is_absolute() {
                home
            } else {
                std::env::current_dir()
                    .context("reading the current directory")?
                    .join(home)
            };
            return Ok(Self::under(&home));
        }
        let Some(dirs) = directories::ProjectDirs::from("", "", "llm-cli-gateway") else {
            bail!(
                "could not determine a home directory for the gateway's files\n\
                 help: set {HOME_ENV}=/some/dir to choose one"
            );
        };
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_local_dir().to_path_buf(),
        })
    }

    /// Everything under one root.
    pub fn under(root: &Path) -> Self {
        Self {
            config_dir: root.to_path_buf(),
            data_dir: root.to_path_buf(),
        }
    }

    /// The SQLite store: jobs, sessions, flight recorder.
    pub fn db_file(&self) -> PathBuf {
        self.data_dir.join("gateway.db")
    }
    /// The store and the WAL files SQLite keeps beside it.
    pub fn db_files(&self) -> [PathBuf; 3] {
        let db = self.db_file();
        let side = |suffix: &str| {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        [side("-wal"), side("-shm"), db.clone()]
    }
    /// Environment for an OS service (PATH captured at setup); refreshed by `repair`.
    pub fn service_env_file(&self) -> PathBuf {
        self.config_dir.join("service.env")
    }
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
    pub fn token_file(&self) -> PathBuf {
        self.config_dir.join("auth-token")
    }
    pub fn receipt_file(&self) -> PathBuf {
        self.data_dir.join("receipt.json")
    }
    pub fn versions_dir(&self) -> PathBuf {
        self.data_dir.join("versions")
    }
    pub fn version_dir(&self, version: &str) -> PathBuf {
        self.versions_dir().join(version)
    }
    /// Symlink (or pointer file on Windows) naming the active version.
    pub fn current_link(&self) -> PathBuf {
        self.data_dir.join("current")
    }
    /// The version `current` names, if it points at an existing version directory.
    pub fn current_version(&self) -> Option<String> {
        let name = crate::platform::fsutil::link_name(&self.current_link())?;
        self.version_dir(&name).is_dir().then_some(name)
    }
    /// Verified bundle archives, kept so `repair` can reinstall without the network.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
    /// The gateway's log, which it writes and rotates itself (`serve --log-file`).
    pub fn log_file(&self) -> PathBuf {
        self.logs_dir().join("gateway.log")
    }
    /// Where the service manager or supervisor sends the gateway's stdout and stderr:
    /// nothing in normal operation, but what the process says before its log is open
    /// (or a runtime abort message) lands here.
    pub fn output_file(&self) -> PathBuf {
        self.logs_dir().join("gateway.stderr.log")
    }
    pub fn run_dir(&self) -> PathBuf {
        self.data_dir.join("run")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("gateway.pid")
    }
    /// Where `setup` packs the embedded bundle before installing it; removed afterwards.
    pub fn embedded_dir(&self) -> PathBuf {
        self.data_dir.join(".embedded")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.data_dir.join(".lock")
    }

    /// The directories we create, in creation order (parents first).
    pub fn state_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.config_dir.clone()];
        if self.data_dir != self.config_dir {
            dirs.push(self.data_dir.clone());
        }
        dirs.extend([
            self.versions_dir(),
            self.cache_dir(),
            self.logs_dir(),
            self.run_dir(),
        ]);
        dirs
    }

    /// Creates the state directories with 0700 permissions.
    pub fn ensure_dirs(&self) -> Result<Vec<PathBuf>> {
        let mut created = Vec::new();
        for dir in self.state_dirs() {
            if !dir.exists() {
                created.push(dir.clone());
            }
            crate::platform::fsutil::create_private_dir(&dir)?;
        }
        Ok(created)
    }
}

/// The user's home directory, which `~` in `[policy] workspace_roots` means: `$HOME`,
/// else the platform's answer.
pub fn user_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}
