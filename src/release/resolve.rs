//! Deciding which bundle to fetch and which SHA-256 it must have, from `--sha256`,
//! `--checksums` and `--manifest`. When several are given they must all agree.

use anyhow::{Result, bail};

use crate::release::bundle::HOST_TARGET;
use crate::release::checksums::{Checksums, Sha256Hex};
use crate::release::download::{Fetcher, Source};
use crate::release::manifest::{ArtifactKind, Manifest, resolve_url};

/// Where the expected hash comes from; at least one must be given, and all given must agree.
#[derive(Debug, Clone, Default)]
pub struct Pins {
    /// The SHA-256 itself (`--sha256`).
    pub sha256: Option<String>,
    /// A SHA256SUMS file listing the bundle (`--checksums`).
    pub checksums: Option<String>,
    /// A release-manifest.json listing the bundle (`--manifest`).
    pub manifest: Option<String>,
}

/// The bundle to install and the hash it must have.
#[derive(Debug)]
pub struct Resolved {
    pub source: Source,
    pub sha256: Sha256Hex,
    /// Version promised by the manifest, when one was used.
    pub manifest_version: Option<String>,
}

pub async fn resolve(fetcher: &Fetcher, source: Option<&str>, args: &Pins) -> Result<Resolved> {
    if args.sha256.is_none() && args.checksums.is_none() && args.manifest.is_none() {
        bail!(crate::platform::error::coded(
            "checksum-required",
            "refusing to install a bundle without a checksum\nhelp: pass --sha256 HEX, --checksums URL (a SHA256SUMS file) or --manifest URL (release-manifest.json)"
        ));
    }
    let mut expected: Vec<(String, Sha256Hex)> = Vec::new();
    if let Some(hex) = &args.sha256 {
        let h = Sha256Hex::parse(hex).map_err(|e| anyhow::anyhow!("--sha256: {e}"))?;
        expected.push(("--sha256".into(), h));
    }
    let mut source = source.map(Source::parse);
    let mut manifest_version = None;
    if let Some(murl) = &args.manifest {
        let msrc = Source::parse(murl);
        let text = fetcher.fetch_text(&msrc, "release manifest").await?;
        let m = Manifest::parse(&text, murl)?;
        let artifact = match &source {
            Some(s) => {
                let name = s.file_name().unwrap_or_default();
                m.find_by_name(&name).ok_or_else(|| {
                    anyhow::anyhow!("the release manifest {murl} does not list {name:?}")
                })?
            }
            None => m.find(ArtifactKind::Bundle, HOST_TARGET).ok_or_else(|| {
                crate::platform::error::coded(
                    "target-missing",
                    format!(
                        "release {} has no bundle for this machine ({HOST_TARGET}); it has: {}\nhelp: build from source or use a release that supports {HOST_TARGET}",
                        m.version,
                        m.targets(ArtifactKind::Bundle).join(", ")
                    ),
                )
            })?,
        };
        if artifact.kind != ArtifactKind::Bundle {
            bail!(
                "{} is a {:?} artifact, not a bundle",
                artifact.name,
                artifact.kind
            );
        }
        if artifact.target != HOST_TARGET {
            bail!(
                "the release manifest lists {} for target {}, but this machine needs {HOST_TARGET}",
                artifact.name,
                artifact.target
            );
        }
        expected.push((
            format!("manifest {murl}"),
            Sha256Hex::parse(&artifact.sha256)?,
        ));
        if source.is_none() {
            source = Some(Source::parse(&resolve_url(murl, &artifact.url)));
        }
        manifest_version = Some(m.version.clone());
        // The manifest names its checksums file: it must agree too.
        let sums_url = resolve_url(murl, &m.checksums.url);
        if args.checksums.as_deref() != Some(sums_url.as_str()) {
            let sums = Checksums::parse(
                &fetcher
                    .fetch_text(&Source::parse(&sums_url), "SHA256SUMS")
                    .await?,
            )?;
            match sums.get(&artifact.name) {
                Some(h) => expected.push((format!("SHA256SUMS {sums_url}"), h.clone())),
                None => bail!(
                    "{sums_url} does not list {}, which the manifest names",
                    artifact.name
                ),
            }
        }
    }
    let Some(source) = source else {
        bail!("no bundle given: pass a bundle URL or path, or --manifest URL");
    };
    if let Some(curl) = &args.checksums {
        let name = source.file_name().ok_or_else(|| {
            anyhow::anyhow!(
                "cannot tell the bundle's file name from {}",
                source.display()
            )
        })?;
        let sums = Checksums::parse(
            &fetcher
                .fetch_text(&Source::parse(curl), "SHA256SUMS")
                .await?,
        )
        .map_err(|e| anyhow::anyhow!("{curl}: {e}"))?;
        let h = sums
            .get(&name)
            .ok_or_else(|| anyhow::anyhow!("{curl} does not list {name:?}\nhelp: check that the bundle and SHA256SUMS are from the same release"))?;
        expected.push((format!("SHA256SUMS {curl}"), h.clone()));
    }
    let (first_from, first) = expected[0].clone();
    for (from, h) in &expected[1..] {
        if *h != first {
            bail!(crate::platform::error::coded(
                "checksum-disagreement",
                format!(
                    "the expected checksums disagree: {first_from} says {first}, {from} says {h}\nhelp: the release is inconsistent or was tampered with; nothing was installed"
                )
            ));
        }
    }
    Ok(Resolved {
        source,
        sha256: first,
        manifest_version,
    })
}
