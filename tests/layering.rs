//! The house rules of docs/ARCHITECTURE.md, enforced: each part of `src/` may import
//! only the parts listed for it below. A forbidden `use crate::…` (or any `crate::part`
//! path) fails this test with the file and line, so the layering cannot drift silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Part → the parts it may import. Keep in step with docs/ARCHITECTURE.md.
const ALLOWED: &[(&str, &[&str])] = &[
    ("platform", &[]),
    ("providers", &["platform"]),
    ("policy", &["platform", "providers"]),
    ("report", &["platform", "providers"]),
    ("store", &["platform", "providers"]),
    ("runtime", &["platform"]),
    ("release", &["platform"]),
    ("clients", &["platform", "runtime", "report"]),
    ("bridge", &["platform", "runtime"]),
    (
        "doctor",
        &["platform", "runtime", "providers", "policy", "report"],
    ),
    (
        "gateway",
        &[
            "platform",
            "providers",
            "policy",
            "store",
            "runtime",
            "doctor",
        ],
    ),
    (
        "commands",
        &[
            "platform", "cli", "release", "runtime", "gateway", "doctor", "clients", "bridge",
            "report", "policy",
        ],
    ),
    ("cli", &["platform", "clients", "release", "policy"]),
    ("lib", &["*"]),
    ("main", &["*"]),
];

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    ALLOWED
        .iter()
        .map(|(part, deps)| (*part, deps.iter().copied().collect()))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The part a source file belongs to: its top-level directory or file stem.
fn part_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::<part>` a line names, including the members of `use crate::{a, b::c}`.
fn parts_named(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                let name: String = member
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != "self" {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

/// Lines of code, with `//` comments (docs included) removed.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| {
        let code = match l.find("//") {
            Some(c) => &l[..c],
            None => l,
        };
        (i + 1, code)
    })
}

#[test]
fn every_import_follows_the_house_rules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules = allowed();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut seen_parts = BTreeSet::new();
    for file in &files {
        let part = part_of(&src, file);
        seen_parts.insert(part.clone());
        let Some(may) = rules.get(part.as_str()) else {
            violations.push(format!(
                "{}: part {part:?} is not in tests/layering.rs ALLOWED (add it, and to docs/ARCHITECTURE.md)",
                file.display()
            ));
            continue;
        };
        if may.contains("*") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in code_lines(&text) {
            for target in parts_named(line) {
                if target != part && !may.contains(target.as_str()) {
                    violations.push(format!(
                        "{}:{n}: {part} may not import {target} ({})",
                        file.strip_prefix(&src).unwrap().display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layering (docs/ARCHITECTURE.md):\n{}",
        violations.join("\n")
    );
    for part in rules.keys() {
        assert!(
            seen_parts.contains(*part),
            "ALLOWED names {part:?}, which no longer exists in src/"
        );
    }
}

#[test]
fn the_rules_have_no_circle() {
    let rules = allowed();
    // Depth-first search for a back edge.
    fn visit<'a>(
        part: &'a str,
        rules: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(part) {
            return;
        }
        assert!(
            !stack.contains(&part),
            "the allowed imports form a circle: {} -> {part}",
            stack.join(" -> ")
        );
        stack.push(part);
        for dep in rules.get(part).into_iter().flatten() {
            if *dep != "*" {
                visit(dep, rules, stack, done);
            }
        }
        stack.pop();
        done.insert(part);
    }
    let mut done = BTreeSet::new();
    for part in rules.keys() {
        visit(part, &rules, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_scanner_sees_grouped_and_inline_paths() {
    assert_eq!(
        parts_named("use crate::{release, runtime::paths::Paths};"),
        ["release", "runtime"]
    );
    assert_eq!(
        parts_named("let x = crate::commands::common::lock(ctx);"),
        ["commands"]
    );
    assert!(parts_named("// crate::commands in a comment").len() == 1);
    let lines: Vec<_> = code_lines("/// see crate::commands\nuse crate::store;").collect();
    assert_eq!(parts_named(lines[0].1), Vec::<String>::new());
    assert_eq!(parts_named(lines[1].1), ["store"]);
}
