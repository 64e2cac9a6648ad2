//! Errors that carry a stable code for `--json` output.
//!
//! Most failures are plain `anyhow` errors whose text says what failed and, after a
//! `help:` line, what to do. Where scripts need to branch on the kind of failure, the
//! error is a [`Coded`] one.

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub code: &'static str,
    pub message: String,
}

/// An error with a stable code (`not-installed`, `port-in-use`, ...).
pub fn coded(code: &'static str, message: impl Into<String>) -> anyhow::Error {
    Coded {
        code,
        message: message.into(),
    }
    .into()
}

/// The code of the first coded error in the chain, else `error`.
pub fn code_of(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
    }
    "error"
}

/// Splits the rendered chain into the message and the `help:` hint lines.
pub fn split_hint(err: &anyhow::Error) -> (String, Option<String>) {
    let text = format!("{err:#}");
    let mut message = Vec::new();
    let mut hints = Vec::new();
    for line in text.lines() {
        match line.trim_start().strip_prefix("help: ") {
            Some(h) => hints.push(h.to_string()),
            None => message.push(line),
        }
    }
    let hint = (!hints.is_empty()).then(|| hints.join("\n"));
    (message.join("\n"), hint)
}
