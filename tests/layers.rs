//! The library's modules form layers: core types below, decorators above them, the server
//! on top, and no module reaches back up. Read from the sources: every `crate::module`
//! a file uses (outside comments and its test module) is an edge between top-level
//! modules, with the crate root's re-exports traced to the module that defines them; the
//! graph must have no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("ratchet/src") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names that follow `crate::` in `code`.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `$crate::` inside the forwarding macro counts too
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        names.insert(name);
    }
    names
}

#[test]
fn the_library_modules_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("ratchet/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let module_of = |path: &Path| -> Option<String> {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
        (first != "lib.rs").then(|| first.trim_end_matches(".rs").to_owned())
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();

    // Items the root re-exports, traced to their module: `pub use close::CloseCode;`.
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    for line in lib.lines().map(str::trim) {
        let Some(used) = line.strip_prefix("pub use ") else {
            continue;
        };
        let used = used.trim_end_matches(';');
        let Some((module, items)) = used.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let item = item.rsplit("::").next().unwrap();
            reexported.insert(item.to_owned(), module.to_owned());
        }
    }

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(file) else {
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for name in crate_paths(&code(&text)) {
            let to = if modules.contains(&name) {
                name
            } else if let Some(module) = reexported.get(&name) {
                module.clone()
            } else {
                continue; // an exported macro
            };
            if to != from {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }

    // Layers, bottom first: each module after everything it uses.
    let mut layered: Vec<String> = Vec::new();
    let mut left: BTreeSet<String> = modules.clone();
    while !left.is_empty() {
        let ready: Vec<String> = left
            .iter()
            .filter(|m| {
                edges
                    .get(*m)
                    .is_none_or(|uses| uses.iter().all(|u| !left.contains(u)))
            })
            .cloned()
            .collect();
        assert!(
            !ready.is_empty(),
            "a cycle among {:?}: {:#?}",
            left,
            left.iter().map(|m| (m, edges.get(m))).collect::<Vec<_>>()
        );
        for m in ready {
            left.remove(&m);
            layered.push(m);
        }
    }
    println!("layers, bottom first: {}", layered.join(" < "));
    // The ones the design names: the server on top of the protocol, sessions above
    // connections.
    let uses = |a: &str, b: &str| edges.get(a).is_some_and(|u| u.contains(b));
    assert!(!uses("protocol", "server"));
    assert!(!uses("conn", "session"));
    assert!(uses("server", "protocol"));
}
