//! Small filesystem helpers whose errors name the file and its role, so a failure
//! reads as "could not write the receipt at /x/receipt.json: Permission denied".

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Creates `dir` (and parents) and restricts it to the owner.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| {
        format!(
            "could not create directory {}\nhelp: check that the parent is writable, or set {}",
            dir.display(),
            super::build::HOME_ENV
        )
    })?;
    set_mode(dir, 0o700).with_context(|| format!("could not set permissions on {}", dir.display()))
}

#[cfg(unix)]
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
pub fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
pub fn mode_of(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(not(unix))]
pub fn mode_of(_path: &Path) -> Option<u32> {
    None
}

/// Reads a file, naming its role in the error.
pub fn read_to_string(role: &str, path: &Path) -> Result<String> {
    fs::read_to_string(path)
        .with_context(|| format!("could not read the {role} at {}", path.display()))
}

/// Writes `bytes` to `path` atomically (temp file in the same dir, fsync, rename) with `mode`.
///
/// Readers never see a half-written file, and a crash leaves either the old or the new one.
pub fn write_atomic(role: &str, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = open_new_with_mode(&tmp, mode)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("could not write the {role} at {}", path.display()))
}

/// Creates (truncating) a file that is born with `mode`, so secrets are never briefly readable.
pub fn open_new_with_mode(path: &Path, mode: u32) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let f = opts.open(path)?;
    set_mode(path, mode)?;
    Ok(f)
}

/// Removes a file or directory tree; a missing path is not an error.
pub fn remove_path(path: &Path) -> std::io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).map(|_| true),
        Ok(_) => fs::remove_file(path).map(|_| true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Atomically points the link `link` at `target` (a path relative to the link's directory):
/// a symlink on Unix, a pointer file holding the target's last component elsewhere. The
/// new link is made beside the old one and renamed over it, so readers see one or the other.
pub fn switch_link(link: &Path, target: &Path) -> Result<()> {
    let dir = link.parent().unwrap_or(Path::new("."));
    let name = link.file_name().and_then(|n| n.to_str()).unwrap_or("link");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = remove_path(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &tmp)
        .with_context(|| format!("could not create {}", tmp.display()))?;
    #[cfg(not(unix))]
    fs::write(
        &tmp,
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
    .with_context(|| format!("could not create {}", tmp.display()))?;
    fs::rename(&tmp, link).with_context(|| format!("could not switch {}", link.display()))
}

/// The last component of what `link` points at (see [`switch_link`]), if it is set.
pub fn link_name(link: &Path) -> Option<String> {
    #[cfg(unix)]
    let name = fs::read_link(link)
        .ok()?
        .file_name()?
        .to_string_lossy()
        .into_owned();
    #[cfg(not(unix))]
    let name = fs::read_to_string(link).ok()?.trim().to_string();
    (!name.is_empty()).then_some(name)
}
