//! The only code that fetches release assets.
//!
//! Bytes are hashed as they stream into a `.partial` file, which is renamed into place
//! only after the SHA-256 matches: nothing unverified ever sits under its final name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::release::checksums::Sha256Hex;

/// Largest asset we will download (a bundle is a few MiB; this stops a hostile server
/// from filling the disk).
pub const MAX_DOWNLOAD_BYTES: u64 = 1 << 30;
/// Largest text document (manifest, SHA256SUMS) we read.
pub const MAX_TEXT_BYTES: u64 = 4 << 20;
/// Seconds without a byte before a download counts as stalled.
pub const TIMEOUT_ENV: &str = "LLM_CLI_GATEWAY_HTTP_TIMEOUT_SECS";

/// Receives download progress; implemented by the CLI with indicatif, silent elsewhere.
pub trait Progress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Where an asset comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url(String),
    Path(PathBuf),
}

impl Source {
    pub fn parse(s: &str) -> Self {
        if let Some(rest) = s.strip_prefix("file://") {
            Source::Path(PathBuf::from(rest))
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.to_string())
        } else {
            Source::Path(PathBuf::from(s))
        }
    }

    /// The last path segment, used to look the asset up in SHA256SUMS and the manifest.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Source::Url(u) => {
                let no_query = u.split(['?', '#']).next().unwrap_or(u);
                no_query
                    .rsplit('/')
                    .next()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            }
            Source::Path(p) => p.file_name().and_then(|n| n.to_str()).map(str::to_string),
        }
    }

    pub fn display(&self) -> String {
        match self {
            Source::Url(u) => u.clone(),
            Source::Path(p) => p.display().to_string(),
        }
    }
}

/// A file whose SHA-256 matched the expected value.
#[derive(Debug, Clone)]
pub struct VerifiedFile {
    pub path: PathBuf,
    pub sha256: Sha256Hex,
    pub size: u64,
}

pub struct Fetcher {
    client: reqwest::Client,
    stall: Duration,
}

impl Fetcher {
    pub fn new() -> Result<Self> {
        // reqwest is built without a default crypto provider so that we compile ring rather
        // than aws-lc; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let stall = std::env::var(TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(30));
        let client = reqwest::Client::builder()
            .user_agent(concat!("llm-cli-gateway/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(stall)
            .build()
            .context("could not set up the HTTP client")?;
        Ok(Self { client, stall })
    }

    /// Fetches a small text document (manifest, SHA256SUMS).
    pub async fn fetch_text(&self, source: &Source, role: &str) -> Result<String> {
        let mut buf = Vec::new();
        self.stream(source, role, MAX_TEXT_BYTES, &NoProgress, |chunk| {
            buf.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        String::from_utf8(buf)
            .map_err(|_| anyhow::anyhow!("the {role} at {} is not UTF-8 text", source.display()))
    }

    /// Downloads `source` to `dest`, hashing in the same pass; renames into place only when
    /// the hash equals `expected`.
    pub async fn download_verified(
        &self,
        source: &Source,
        expected: &Sha256Hex,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<VerifiedFile> {
        let partial = partial_path(dest);
        let mut file = crate::platform::fsutil::open_new_with_mode(&partial, 0o600)
            .with_context(|| format!("could not create {}", partial.display()))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let result = self
            .stream(source, "bundle", MAX_DOWNLOAD_BYTES, progress, |chunk| {
                hasher.update(chunk);
                size += chunk.len() as u64;
                file.write_all(chunk)
                    .with_context(|| format!("could not write {}", partial.display()))
            })
            .await;
        let finish = || -> Result<VerifiedFile> {
            result?;
            file.sync_all()?;
            let actual = hex::encode(hasher.finalize());
            if actual != expected.as_str() {
                return Err(crate::platform::error::coded(
                    "checksum-mismatch",
                    format!(
                        "checksum mismatch for {}: expected {expected}, got {actual}\n\
                         help: the download is corrupt or was tampered with; nothing was installed",
                        source.display()
                    ),
                ));
            }
            std::fs::rename(&partial, dest).with_context(|| {
                format!("could not move the verified file to {}", dest.display())
            })?;
            Ok(VerifiedFile {
                path: dest.to_path_buf(),
                sha256: expected.clone(),
                size,
            })
        };
        let out = finish();
        if out.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        out
    }

    /// Streams the bytes of `source` into `sink`, enforcing `max` and the stall timeout,
    /// and turning transport failures into errors that say what happened.
    async fn stream(
        &self,
        source: &Source,
        role: &str,
        max: u64,
        progress: &dyn Progress,
        mut sink: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        match source {
            Source::Path(path) => {
                let mut f = std::fs::File::open(path)
                    .with_context(|| format!("could not open the {role} at {}", path.display()))?;
                let total = f.metadata().ok().map(|m| m.len());
                if total.is_some_and(|t| t > max) {
                    bail!(
                        "the {role} at {} is larger than the {} MiB limit",
                        path.display(),
                        max >> 20
                    );
                }
                progress.start(&source.display(), total);
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f
                        .read(&mut buf)
                        .with_context(|| format!("could not read {}", path.display()))?;
                    if n == 0 {
                        break;
                    }
                    sink(&buf[..n])?;
                    progress.advance(n as u64);
                }
                progress.finish();
                Ok(())
            }
            Source::Url(url) => {
                let mut resp = self.client.get(url).send().await.map_err(|e| {
                    anyhow::anyhow!(
                        "could not fetch the {role} from {url}: {}\nhelp: check the URL and your network (HTTPS_PROXY is honoured)",
                        describe(&e)
                    )
                })?;
                let status = resp.status();
                if !status.is_success() {
                    bail!(
                        "could not fetch the {role} from {url}: HTTP {status}{}",
                        if status.as_u16() == 404 {
                            "\nhelp: check the version and URL; the release may not have this asset"
                        } else {
                            "\nhelp: the server failed; try again later"
                        }
                    );
                }
                let total = resp.content_length();
                if total.is_some_and(|t| t > max) {
                    bail!(
                        "the {role} at {url} is larger than the {} MiB limit",
                        max >> 20
                    );
                }
                progress.start(url, total);
                let mut received = 0u64;
                loop {
                    let chunk = resp.chunk().await.map_err(|e| {
                        if e.is_timeout() {
                            anyhow::anyhow!(
                                "the download of the {role} from {url} stalled: no data for {:.0?} after {received} bytes",
                                self.stall
                            )
                        } else {
                            anyhow::anyhow!(
                                "the download of the {role} from {url} broke off after {received}{} bytes: {}",
                                total.map(|t| format!(" of {t}")).unwrap_or_default(),
                                describe(&e)
                            )
                        }
                    })?;
                    let Some(chunk) = chunk else { break };
                    received += chunk.len() as u64;
                    if received > max {
                        bail!(
                            "the {role} at {url} is larger than the {} MiB limit",
                            max >> 20
                        );
                    }
                    sink(&chunk)?;
                    progress.advance(chunk.len() as u64);
                }
                progress.finish();
                if let Some(t) = total
                    && received != t
                {
                    bail!(
                        "the download of the {role} from {url} is truncated: got {received} of {t} bytes"
                    );
                }
                Ok(())
            }
        }
    }
}

/// The error and its sources on one line, since reqwest's top-level text is vague.
fn describe(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        src = s.source();
    }
    parts.join(": ")
}

pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    dest.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::hash::sha256_bytes;

    #[test]
    fn source_names() {
        assert_eq!(
            Source::parse("http://h/a/b.tgz?x=1").file_name().as_deref(),
            Some("b.tgz")
        );
        assert_eq!(
            Source::parse("file:///tmp/x.tgz"),
            Source::Path("/tmp/x.tgz".into())
        );
        assert_eq!(
            Source::parse("rel/x.tgz").file_name().as_deref(),
            Some("x.tgz")
        );
        assert_eq!(Source::parse("http://h/").file_name(), None);
    }

    #[tokio::test]
    async fn path_download_verifies_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("asset");
        std::fs::write(&src, b"hello").unwrap();
        let good = Sha256Hex::parse(&sha256_bytes(b"hello").to_uppercase()).unwrap();
        let f = Fetcher::new().unwrap();
        let dest = dir.path().join("out");
        let v = f
            .download_verified(&Source::Path(src.clone()), &good, &dest, &NoProgress)
            .await
            .unwrap();
        assert_eq!(v.size, 5);
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        let bad = Sha256Hex::parse(&"0".repeat(64)).unwrap();
        let dest2 = dir.path().join("out2");
        let err = f
            .download_verified(&Source::Path(src), &bad, &dest2, &NoProgress)
            .await
            .unwrap_err();
        assert_eq!(crate::platform::error::code_of(&err), "checksum-mismatch");
        assert!(!dest2.exists() && !partial_path(&dest2).exists());
    }
}
