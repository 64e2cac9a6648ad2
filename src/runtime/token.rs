//! The bearer token: 256 random bits, hex, in a 0600 file, created once.
//!
//! The value never goes through argv, logs or JSON output; [`Token`]'s `Debug` is redacted.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::platform::fsutil;

/// Shown wherever the token would otherwise appear.
pub const REDACTED: &str = "<redacted: run with --show-token>";

#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads the token file, refusing one that others can read.
    pub fn load(path: &Path) -> Result<Self> {
        let text = fsutil::read_to_string("auth token", path)?;
        let value = text.trim();
        if value.len() < 32 || !value.chars().all(|c| c.is_ascii_graphic()) {
            bail!(
                "the auth token at {} is empty or malformed\nhelp: delete it and re-run `llm-cli-gateway setup` to make a new one",
                path.display()
            );
        }
        if let Some(mode) = fsutil::mode_of(path)
            && mode & 0o077 != 0
        {
            bail!(
                "the auth token at {} is readable by other users (mode {:o})\nhelp: chmod 600 {}",
                path.display(),
                mode,
                path.display()
            );
        }
        Ok(Self(value.to_string()))
    }

    /// Creates the token file when missing. Returns the token and whether it was created.
    pub fn ensure(path: &Path) -> Result<(Self, bool)> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
        let token = hex::encode(bytes);
        fsutil::write_atomic("auth token", path, format!("{token}\n").as_bytes(), 0o600)
            .context("creating the auth token")?;
        Ok((Self(token), true))
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth-token");
        let (t1, created) = Token::ensure(&p).unwrap();
        assert!(created);
        assert_eq!(t1.expose().len(), 64);
        #[cfg(unix)]
        assert_eq!(fsutil::mode_of(&p), Some(0o600));
        let (t2, created) = Token::ensure(&p).unwrap();
        assert!(!created);
        assert_eq!(t1.expose(), t2.expose());
        assert!(!format!("{t1:?}").contains(t1.expose()));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth-token");
        Token::ensure(&p).unwrap();
        fsutil::set_mode(&p, 0o644).unwrap();
        let err = format!("{:#}", Token::load(&p).unwrap_err());
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains(&std::fs::read_to_string(&p).unwrap().trim().to_string()));
    }

    #[test]
    fn ct_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
