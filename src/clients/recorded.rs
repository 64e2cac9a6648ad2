//! Entries we wrote, as the receipt records them: still ours to remove, or not.

use anyhow::Result;

use super::file::{self, ConfigDoc, Outcome, Shape};
use super::{runs_bridge, spec_by_id};
use crate::runtime::receipt::ClientEntry;

/// What uninstall may do with a recorded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Still runs our bridge: remove it.
    Ours,
    /// The file or the entry is gone already: nothing to do.
    Gone,
    /// Leave it alone, for this reason.
    Keep(String),
}

/// `FILE#KEY`, how reports name an entry.
pub fn target(e: &ClientEntry) -> String {
    format!("{}#{}", e.file.display(), e.key)
}

/// Looks without changing anything (a dry run must not).
pub fn inspect(e: &ClientEntry) -> State {
    let Some(spec) = spec_by_id(&e.client) else {
        return State::Keep(format!("unknown client {:?}", e.client));
    };
    let bytes = match std::fs::read(&e.file) {
        Ok(b) => b,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return State::Gone,
        Err(err) => return State::Keep(format!("could not read it: {err}")),
    };
    let doc = String::from_utf8(bytes)
        .map_err(|_| Shape::NotUtf8)
        .and_then(|t| ConfigDoc::parse(spec.format, &t));
    match doc {
        Err(shape) => State::Keep(format!("{shape}; remove the entry by hand")),
        Ok(doc) => classify(&doc, e),
    }
}

fn classify(doc: &ConfigDoc, e: &ClientEntry) -> State {
    match doc.entry(&e.key) {
        None => State::Gone,
        Some(v) if runs_bridge(&v, &e.command) => State::Ours,
        Some(_) => State::Keep(format!(
            "changed since it was written (no longer runs {} bridge)",
            e.command
        )),
    }
}

/// Removes the entry if it is still ours, checking again on the bytes it edits.
pub fn remove(e: &ClientEntry) -> Result<Outcome> {
    let spec =
        spec_by_id(&e.client).ok_or_else(|| anyhow::anyhow!("unknown client {:?}", e.client))?;
    file::edit(spec, &e.file, false, |doc| {
        classify(doc, e) == State::Ours && doc.remove(&e.key)
    })
}
