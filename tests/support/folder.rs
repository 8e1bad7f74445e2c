//! Scratch folders for the tests: made fresh, removed when dropped, so a suite run leaves
//! nothing behind in the system's temporary folder.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A folder in the system's temporary folder, removed with its contents when dropped.
/// Dereferences to its path.
#[derive(Debug)]
pub struct Folder(PathBuf);

/// A fresh folder named after `name` (a new one each call), holding `files` (relative
/// paths and contents).
pub fn folder(name: &str, files: &[(&str, &str)]) -> Folder {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let n = MADE.fetch_add(1, Ordering::Relaxed);
    let base = std::env::temp_dir().join(format!("ratchet-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for (path, contents) in files {
        let path = base.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
        std::fs::write(path, contents).expect("write the file");
    }
    std::fs::create_dir_all(&base).expect("create the folder");
    Folder(base)
}

impl Deref for Folder {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Folder {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
