//! One writer at a time: setup, install-bundle, start, stop and uninstall take an
//! exclusive lock on the state directory for as long as the guard lives.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};

pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Tries without blocking first so the user learns why we wait.
    pub fn acquire(path: &Path, on_wait: impl FnOnce()) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("could not open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait();
                file.lock()
                    .with_context(|| format!("could not lock {}", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("could not lock {}", path.display()));
            }
        }
        Ok(Self { _file: file })
    }
}
