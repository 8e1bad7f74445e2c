//! Replays the fuzz corpora (and any crash kept under `fuzz/crashes/`) through the same
//! harnesses the AFL targets run, so that whatever a fuzzer once found stays fixed.

use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let mut count = 0;
    for dir in ["fuzz/corpus", "fuzz/crashes"] {
        let dir = suite::root().join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let data = std::fs::read(&path).expect("read a corpus file");
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("?")
                    .to_owned();
                if std::panic::catch_unwind(|| harness(&data)).is_err() {
                    panic!("{target}: {} fails", Path::new(&name).display());
                }
                count += 1;
            }
        }
    }
    assert!(count > 0, "no corpus for {target}");
    count
}

#[test]
fn handshake_corpus() {
    println!("{} inputs", replay("handshake", suite::fuzz::handshake));
}

#[test]
fn rfc6455_corpus() {
    println!("{} inputs", replay("rfc6455", suite::fuzz::rfc6455));
}

#[test]
fn hixie_corpus() {
    println!("{} inputs", replay("hixie", suite::fuzz::hixie));
}

#[test]
fn deflate_corpus() {
    println!("{} inputs", replay("deflate", suite::fuzz::deflate));
}
