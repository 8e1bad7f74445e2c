//! Running the servers and the load generator: each pinned to its core, started on a free
//! port, stopped when dropped.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .expect("own path")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

pub(crate) fn pinned(core: &str, program: &Path) -> Command {
    if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(core).arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub(crate) struct Running {
    child: Child,
    pub(crate) addr: String,
}

impl Running {
    pub(crate) fn start(server: &str, extra: &[&str]) -> Running {
        Self::start_at(&bin_dir().join(format!("server-{server}")), extra)
    }

    pub(crate) fn start_at(program: &Path, extra: &[&str]) -> Running {
        Self::start_script(program, &[], extra)
    }

    /// `program` on the cores `cores` (`"0,1"`), with `--bind` and `extra`.
    pub(crate) fn start_on(cores: &str, program: &Path, extra: &[&str]) -> Running {
        Self::spawn(pinned(cores, program), program, &[], extra)
    }

    /// `program` with `leading` arguments first (a script for an interpreter), then
    /// `--bind` and `extra`.
    pub(crate) fn start_script(program: &Path, leading: &[&str], extra: &[&str]) -> Running {
        Self::spawn(pinned("0", program), program, leading, extra)
    }

    fn spawn(mut command: Command, program: &Path, leading: &[&str], extra: &[&str]) -> Running {
        let server = program.display();
        let mut child = command
            .args(leading)
            .args(["--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start server-{server}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{server} said {line:?}"))
            .to_owned();
        Running { child, addr }
    }

    pub(crate) fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the load generator on core 1; returns its `key value` lines.
pub(crate) fn load(args: &[&str]) -> BTreeMap<String, String> {
    run_on_core_1("ratchet-load", args)
}

/// Runs the benchmark binary `name` on core 1; returns its `key value` lines.
pub(crate) fn run_on_core_1(name: &str, args: &[&str]) -> BTreeMap<String, String> {
    let out = pinned("1", &bin_dir().join(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

pub(crate) fn number(results: &BTreeMap<String, String>, key: &str) -> f64 {
    results.get(key).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Under `cargo run`, builds the servers and the load generator beside this binary (with
/// the same profile), so that `cargo run --release -p ratchet-bench -- all` works from a
/// fresh checkout.
pub(crate) fn build_the_others() {
    let Ok(cargo) = std::env::var("CARGO") else {
        return; // run directly: the binaries are wherever they were built
    };
    let release = bin_dir().ends_with("release");
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "ratchet-bench", "--bins"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building the benchmark binaries failed");
}
