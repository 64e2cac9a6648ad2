//! Builds bundles, honest and hostile, byte by byte (the tar crate's builder refuses to
//! write `..` or absolute names, which is exactly what these tests need).

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

pub struct Entry {
    pub name: String,
    pub kind: tar::EntryType,
    pub mode: u32,
    pub data: Vec<u8>,
    pub link: Option<String>,
}

impl Entry {
    pub fn file(name: &str, data: &[u8], mode: u32) -> Self {
        Self {
            name: name.into(),
            kind: tar::EntryType::Regular,
            mode,
            data: data.to_vec(),
            link: None,
        }
    }
    pub fn special(name: &str, kind: tar::EntryType, link: Option<&str>) -> Self {
        Self {
            name: name.into(),
            kind,
            mode: 0o644,
            data: vec![],
            link: link.map(str::to_string),
        }
    }
}

pub fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut raw = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_old();
        {
            let old = h.as_old_mut();
            old.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
            if let Some(l) = &e.link {
                old.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_size(e.data.len() as u64);
        h.set_mtime(0);
        h.set_cksum();
        raw.extend_from_slice(h.as_bytes());
        raw.extend_from_slice(&e.data);
        let pad = (512 - e.data.len() % 512) % 512;
        raw.extend(std::iter::repeat_n(0u8, pad));
    }
    raw.extend(std::iter::repeat_n(0u8, 1024));
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// `bundle.json` for the given files (path, bytes, mode string).
pub fn bundle_json(version: &str, target: &str, files: &[(&str, &[u8], &str)]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(p, b, m)| serde_json::json!({"path": p, "sha256": super::sha256_hex(b), "size": b.len(), "mode": m}))
        .collect();
    serde_json::to_vec_pretty(&serde_json::json!({
        "schema_version": 1, "name": "llm-cli-gateway", "version": version, "target": target,
        "entrypoint": "bin/llm-cli-gateway", "files": files
    }))
    .unwrap()
}

/// A minimal valid bundle plus `extra` entries appended.
pub fn bundle_with(version: &str, target: &str, extra: Vec<Entry>) -> Vec<u8> {
    let bin = b"#!/bin/sh\necho fake gateway\n";
    let mut entries = vec![
        Entry::file(
            "bundle.json",
            &bundle_json(version, target, &[("bin/llm-cli-gateway", bin, "0755")]),
            0o644,
        ),
        Entry::file("bin/llm-cli-gateway", bin, 0o755),
    ];
    entries.extend(extra);
    tar_gz(&entries)
}
