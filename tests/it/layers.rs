//! The modules form layers that only point down (issue 15): each top-level module of `src/`
//! may name (`crate::…`) only modules listed before it here.

use std::collections::BTreeSet;
use std::path::Path;

/// Lowest first.
const LAYERS: [&str; 13] = ["engine", "state", "scenario", "store", "sink", "run", "experiment", "sweep", "query", "replay", "report", "serve", "cli"];

/// Upward imports still to remove, each with the reason: (from, to).
const KNOWN: [(&str, &str); 0] = [];

/// The `crate::<module>` names used in `file`, outside its unit tests (which may build their
/// inputs with higher layers, e.g. an engine from scenario YAML).
fn named(file: &Path) -> BTreeSet<String> {
    let whole = std::fs::read_to_string(file).unwrap();
    let text = whole.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.match_indices("crate::")
        .filter(|(i, _)| !text[..*i].ends_with(char::is_alphanumeric) && !text[..*i].ends_with('_'))
        .map(|(i, m)| text[i + m.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect()
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn modules_only_name_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut upward = Vec::new();
    let mut seen = BTreeSet::new();
    for (level, module) in LAYERS.iter().enumerate() {
        let mut all = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            files(&dir, &mut all);
        }
        if src.join(format!("{module}.rs")).is_file() {
            all.push(src.join(format!("{module}.rs")));
        }
        assert!(!all.is_empty(), "no source for module `{module}`");
        for file in all {
            for name in named(&file) {
                let Some(to) = LAYERS.iter().position(|l| *l == name) else { continue };
                if to > level {
                    seen.insert((module.to_string(), name.clone()));
                    if !KNOWN.contains(&(module, name.as_str())) {
                        upward.push(format!("{} names crate::{name}", file.strip_prefix(&src).unwrap().display()));
                    }
                }
            }
        }
    }
    assert!(upward.is_empty(), "imports that point up the layers {LAYERS:?}:\n{}", upward.join("\n"));
    // A known exception that is gone must leave the list, so that it cannot come back unseen.
    for (from, to) in KNOWN {
        assert!(seen.contains(&(from.to_string(), to.to_string())), "`{from}` no longer names `{to}`: remove it from KNOWN");
    }
    // Every module of src/ has its place in the layers.
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.path().file_stem().unwrap().to_string_lossy().into_owned();
        assert!(LAYERS.contains(&name.as_str()) || ["lib", "main"].contains(&name.as_str()), "module `{name}` is not in LAYERS");
    }
}
