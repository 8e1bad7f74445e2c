//! Restarting without closing the port: on SIGUSR2 a server started by a generated `main`
//! starts its successor (the program at the same path, with the same arguments) and passes
//! it the listening sockets the way systemd does (`LISTEN_FDS`, from descriptor 3). Once
//! the successor serves them, it sends the old process SIGTERM, which shuts down gracefully
//! (1001 to its clients). The sockets stay open throughout, held by one process or both,
//! so a connection attempt during the swap is queued by the kernel and accepted by one of
//! them: none is refused.
//!
//! If the successor exits before it serves, the old process logs how and goes on serving.

use command_fds::{CommandFdExt, FdMapping};
use mio::net::TcpListener;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io;
use std::os::fd::{AsFd, RawFd};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The variable naming the process a successor replaces (its parent).
const REPLACES: &str = "RATCHET_REPLACES";
/// The first descriptor passed (systemd's `SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// Starts successors, one at a time.
#[derive(Debug, Default)]
pub(super) struct Handoff {
    /// Whether a successor is starting (a second SIGUSR2 meanwhile is ignored).
    starting: Arc<AtomicBool>,
}

impl Handoff {
    /// Starts the successor with `listeners`; it stops this server (with SIGTERM) once it
    /// serves them.
    pub fn start(&self, listeners: &[TcpListener]) {
        if self.starting.swap(true, Ordering::AcqRel) {
            log::warn!("a successor is already starting");
            return;
        }
        let starting = Arc::clone(&self.starting);
        match spawn(listeners) {
            Ok(mut child) => {
                log::info!("started successor (pid {})", child.id());
                // It only ends before this process does if it failed.
                std::thread::spawn(move || {
                    let status = child
                        .wait()
                        .map_or_else(|e| e.to_string(), |s| s.to_string());
                    log::error!("the successor ended ({status})");
                    starting.store(false, Ordering::Release);
                });
            }
            Err(e) => {
                log::error!("cannot start a successor: {e}; still serving");
                starting.store(false, Ordering::Release);
            }
        }
    }
}

/// Starts the successor with copies of `listeners` at descriptors 3, 4, ...
fn spawn(listeners: &[TcpListener]) -> io::Result<std::process::Child> {
    let mut mappings = Vec::with_capacity(listeners.len());
    for (i, listener) in listeners.iter().enumerate() {
        mappings.push(FdMapping {
            parent_fd: listener.as_fd().try_clone_to_owned()?,
            child_fd: FIRST_FD + i as RawFd,
        });
    }
    let mut command = Command::new(own_path()?);
    command
        .args(std::env::args_os().skip(1))
        .env("LISTEN_FDS", listeners.len().to_string())
        .env(REPLACES, std::process::id().to_string())
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDNAMES")
        .env_remove("LISTEN_FDS_FIRST_FD")
        .fd_mappings(mappings)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    command.spawn()
}

/// This program's path. When it was replaced on disk (the usual upgrade: a new binary
/// renamed over the old), Linux names the running one "PATH (deleted)": the successor is
/// the new one at PATH.
fn own_path() -> io::Result<PathBuf> {
    let path = std::env::current_exe()?;
    Ok(
        match path.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
            Some(current) => PathBuf::from(current),
            None => path,
        },
    )
}

/// Stops the process this one replaces, if it was started as a successor (by a SIGUSR2 to
/// a generated `main`): called once the listeners it passed are served.
pub fn announce_ready() {
    let Some(pid) = std::env::var(REPLACES)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    else {
        return;
    };
    // Only the parent that started this process: never a process that reused its number.
    // (The variable stays: changing the environment of a process that may have threads is
    // not safe, and a successor of this one gets its own.)
    if std::os::unix::process::parent_id() != pid {
        log::warn!("{REPLACES}={pid} is not this process's parent: left alone");
        return;
    }
    match i32::try_from(pid).map(|pid| kill(Pid::from_raw(pid), Signal::SIGTERM)) {
        Ok(Ok(())) => log::info!("serving: asked pid {pid}, which this process replaces, to stop"),
        Ok(Err(e)) => log::warn!("cannot stop pid {pid}: {e}"),
        Err(e) => log::warn!("{REPLACES}={pid}: {e}"),
    }
}
