//! Reading and changing one client's config file safely: refuse anything we could not
//! change without loss (malformed, read-only, a symlink, an unexpected shape), back up
//! before changing, write atomically with the original mode, and change nothing when
//! nothing needs to change.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

use super::json_doc::JsonDoc;
use super::toml_doc::TomlDoc;
use super::{ClientSpec, Entry, Format};
use crate::platform::error::coded;
use crate::platform::fsutil;

/// Why a file's content cannot be used. Displays as the tail of a sentence about the file,
/// e.g. `malformed at 3:7: Expected comma`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    NotUtf8,
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
    /// The top-level value is not an object (what it is instead).
    TopLevel(&'static str),
    /// The servers key holds something other than an object.
    Servers {
        key: &'static str,
        found: &'static str,
    },
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shape::NotUtf8 => write!(f, "not UTF-8 text"),
            Shape::Malformed {
                line,
                column,
                message,
            } => write!(f, "malformed at {line}:{column}: {message}"),
            Shape::TopLevel(found) => {
                write!(f, "the top-level value is {found}, not an object")
            }
            Shape::Servers { key, found } => write!(f, "`{key}` is {found}, not an object"),
        }
    }
}

/// "an object", "a string", ... for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A parsed client config file in its own format.
pub enum ConfigDoc {
    Json(JsonDoc),
    Toml(TomlDoc),
}

impl ConfigDoc {
    /// Parses and checks that the top level and the servers key are objects.
    pub fn parse(format: Format, text: &str) -> Result<Self, Shape> {
        Ok(match format {
            Format::Json { servers_key, .. } => ConfigDoc::Json(JsonDoc::parse(text, servers_key)?),
            Format::Toml { table } => ConfigDoc::Toml(TomlDoc::parse(text, table)?),
        })
    }

    /// Every server entry, as JSON values.
    pub fn servers(&self) -> Vec<(String, Value)> {
        match self {
            ConfigDoc::Json(d) => d.servers(),
            ConfigDoc::Toml(d) => d.servers(),
        }
    }

    pub fn entry(&self, key: &str) -> Option<Value> {
        match self {
            ConfigDoc::Json(d) => d.entry(key),
            ConfigDoc::Toml(d) => d.entry(key),
        }
    }

    /// Puts `entry` under `key` unless exactly that is already there; true when changed.
    pub fn upsert(&mut self, key: &str, entry: &Entry) -> bool {
        if self.entry(key).as_ref() == Some(&entry.to_json()) {
            return false;
        }
        match self {
            ConfigDoc::Json(d) => d.set_entry(key, entry),
            ConfigDoc::Toml(d) => d.set_entry(key, entry),
        }
        true
    }

    pub fn remove(&mut self, key: &str) -> bool {
        match self {
            ConfigDoc::Json(d) => d.remove_entry(key),
            ConfigDoc::Toml(d) => d.remove_entry(key),
        }
    }

    pub fn render(&self) -> String {
        match self {
            ConfigDoc::Json(d) => d.render(),
            ConfigDoc::Toml(d) => d.render(),
        }
    }
}

/// The entry as a fresh file of `format` would hold it: what `print-client-config` shows
/// and `--write` produces in a new file.
pub fn render_fresh(format: Format, key: &str, entry: &Entry) -> String {
    let mut doc = ConfigDoc::parse(format, "").expect("an empty document parses");
    doc.upsert(key, entry);
    doc.render()
}

/// What an edit did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub file: PathBuf,
    /// The file existed before.
    pub existed: bool,
    /// The copy of the original taken before changing it.
    pub backup: Option<PathBuf>,
    pub changed: bool,
}

/// Applies `edit` to `spec`'s file at `file`. A missing file is created (parents 0700,
/// file 0600) when `create`, else left missing. `edit` returns whether it changed the
/// document; nothing is written (and nothing backed up) when the bytes would not change.
pub fn edit(
    spec: &ClientSpec,
    file: &Path,
    create: bool,
    edit: impl FnOnce(&mut ConfigDoc) -> bool,
) -> Result<Outcome> {
    let mut outcome = Outcome {
        file: file.to_path_buf(),
        existed: false,
        backup: None,
        changed: false,
    };
    let by_hand = format!(
        "`llm-cli-gateway print-client-config --client {}` prints the entry to add by hand",
        spec.id
    );
    let (original, mode) = match std::fs::symlink_metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Ok(outcome);
            }
            (String::new(), 0o600)
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "could not inspect {}: {e}\nhelp: {by_hand}",
                file.display()
            ));
        }
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::read_link(file)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "an unreadable target".into());
            return Err(coded(
                "symlink",
                format!(
                    "{} is a symlink to {target}; not replacing it with a regular file\n\
                     help: edit {target} itself ({by_hand}), or replace the link with a regular file and run this again",
                    file.display()
                ),
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(coded(
                "not-a-file",
                format!("{} is not a regular file\nhelp: {by_hand}", file.display()),
            ));
        }
        Ok(meta) => {
            // Mode bits, not access(2): root may write anything, but a read-only file is
            // the user saying "do not change this".
            if meta.permissions().readonly() {
                return Err(coded(
                    "read-only",
                    format!(
                        "{} is read-only{}; not changing it\nhelp: make it writable (chmod u+w) and run this again, or {by_hand}",
                        file.display(),
                        fsutil::mode_of(file)
                            .map(|m| format!(" (mode {m:04o})"))
                            .unwrap_or_default()
                    ),
                ));
            }
            outcome.existed = true;
            let bytes = std::fs::read(file).map_err(|e| {
                anyhow::anyhow!("could not read {}: {e}\nhelp: {by_hand}", file.display())
            })?;
            let text = String::from_utf8(bytes).map_err(|_| unusable(file, &Shape::NotUtf8))?;
            (text, fsutil::mode_of(file).unwrap_or(0o600))
        }
    };
    let mut doc = ConfigDoc::parse(spec.format, &original).map_err(|s| unusable(file, &s))?;
    if !edit(&mut doc) {
        return Ok(outcome);
    }
    let mut updated = doc.render();
    if !outcome.existed && !updated.ends_with('\n') {
        updated.push('\n');
    }
    if updated == original {
        return Ok(outcome);
    }
    if outcome.existed {
        outcome.backup = Some(backup(file, original.as_bytes(), mode)?);
    } else if let Some(parent) = file.parent() {
        create_parents(parent)?;
    }
    fsutil::write_atomic("client configuration", file, updated.as_bytes(), mode)?;
    outcome.changed = true;
    Ok(outcome)
}

fn unusable(file: &Path, shape: &Shape) -> anyhow::Error {
    let code = match shape {
        Shape::NotUtf8 | Shape::Malformed { .. } => "malformed",
        Shape::TopLevel(_) | Shape::Servers { .. } => "unexpected-shape",
    };
    coded(
        code,
        format!(
            "{}: {shape}; nothing was changed\nhelp: fix the file (or move it aside) and run this again",
            file.display()
        ),
    )
}

/// Creates the missing ancestors of a new config file, each private to the user.
fn create_parents(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for d in missing.into_iter().rev() {
        fsutil::create_private_dir(d)?;
    }
    Ok(())
}

/// Copies the original next to the file as `<file>.bak-<UTC timestamp>`, same bytes and
/// mode; never overwrites an earlier backup.
fn backup(file: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf> {
    let stamp: String = crate::platform::time::now_rfc3339()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let base = format!("{}.bak-{stamp}", file.display());
    for n in 1..1000 {
        let path = PathBuf::from(if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        match opts.open(&path) {
            Ok(mut f) => {
                let written = f
                    .write_all(bytes)
                    .and_then(|_| f.sync_all())
                    .and_then(|_| fsutil::set_mode(&path, mode));
                if let Err(e) = written {
                    let _ = std::fs::remove_file(&path);
                    return Err(anyhow::anyhow!(
                        "could not back up {} to {}: {e}; nothing was changed",
                        file.display(),
                        path.display()
                    ));
                }
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "could not back up {} to {}: {e}; nothing was changed\nhelp: check that the directory is writable",
                    file.display(),
                    path.display()
                ));
            }
        }
    }
    anyhow::bail!(
        "could not find a free backup name next to {}",
        file.display()
    )
}
