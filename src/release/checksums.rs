//! `SHA256SUMS` in `sha256sum` format: `<64 hex>  <file name>` (binary marker `*` allowed).

use anyhow::{Result, bail};

pub use crate::platform::hash::Sha256Hex;

#[derive(Debug, Clone, Default)]
pub struct Checksums {
    pub entries: Vec<(String, Sha256Hex)>,
}

impl Checksums {
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((hash, name)) = line.split_once(char::is_whitespace) else {
                bail!("SHA256SUMS line {} is malformed: {line:?}", i + 1);
            };
            let name = name.trim_start().trim_start_matches('*');
            if name.is_empty() || name.contains('/') || name.contains('\\') {
                bail!("SHA256SUMS line {} names no plain file: {line:?}", i + 1);
            }
            let hash = Sha256Hex::parse(hash)
                .map_err(|e| anyhow::anyhow!("SHA256SUMS line {}: {e}", i + 1))?;
            entries.push((name.to_string(), hash));
        }
        if entries.is_empty() {
            bail!("SHA256SUMS lists no files");
        }
        Ok(Self { entries })
    }

    pub fn get(&self, file_name: &str) -> Option<&Sha256Hex> {
        self.entries
            .iter()
            .find(|(n, _)| n == file_name)
            .map(|(_, h)| h)
    }

    pub fn render(&self) -> String {
        let mut sorted = self.entries.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        sorted.iter().map(|(n, h)| format!("{h}  {n}\n")).collect()
    }

    /// Replaces or adds an entry.
    pub fn set(&mut self, name: &str, hash: Sha256Hex) {
        self.entries.retain(|(n, _)| n != name);
        self.entries.push((name.to_string(), hash));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sha256sum_output() {
        let a = "a".repeat(64);
        let b = "B".repeat(64);
        let c = Checksums::parse(&format!("{a}  one.tar.gz\n{b} *two\n\n")).unwrap();
        assert_eq!(c.get("one.tar.gz").unwrap().as_str(), a);
        assert_eq!(c.get("two").unwrap().as_str(), "b".repeat(64));
        assert!(c.get("three").is_none());
        assert!(c.render().starts_with(&a));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Checksums::parse("").is_err());
        assert!(Checksums::parse("nothex  file\n").is_err());
        assert!(Checksums::parse(&format!("{}  ../evil\n", "a".repeat(64))).is_err());
        assert!(Sha256Hex::parse(&"g".repeat(64)).is_err());
        assert!(Sha256Hex::parse(&"a".repeat(63)).is_err());
    }
}
