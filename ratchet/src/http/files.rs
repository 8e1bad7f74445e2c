//! Static files from a folder, over HTTP/1.1 with keep-alive.

use super::{
    persist, refuse, request, target_path, write_busy, write_error, write_head, Head, Persist,
};
use crate::conn::ConnId;
use crate::error::ConfigError;
use crate::message::Payload;
use crate::protocol::{Limits, Outbox, Protocol};
use crate::request::Request;
use crate::CloseCode;
use std::fs::{self, File, Metadata};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Serves the files of one folder: `GET` and `HEAD`, HTTP/1.1 keep-alive, a
/// `Content-Type` by extension, `ETag` and `Last-Modified` with `304 Not Modified` for
/// `If-None-Match` / `If-Modified-Since`, `index.html` for folders.
///
/// Nothing outside the folder is ever served: a path with a `..` segment (plain or
/// percent-encoded), a NUL or a backslash gets `400`; one that resolves, through a
/// symlink, outside the folder gets `403`; hidden files (`.env`, `.git/…`) get `404`,
/// except under `/.well-known/` (RFC 8615). A file asked for with a trailing slash is not
/// found; a folder without one is redirected to it.
///
/// A body is streamed as the client takes it, within the connection's output budget,
/// never read whole; pipelined requests wait unparsed until the response before them is
/// written. Files are read on the event loop, a chunk at a time: this is for an
/// application's own page and assets, not a file server. Larger than
/// [`max_file_size`](Static::max_file_size) gets `500` (and a log line).
///
/// ```no_run
/// use ratchet::http::{Router, Static};
/// use ratchet::Server;
///
/// Server::new(Router::new().route("/*", Static::new("public"))).bind("127.0.0.1:8080")?.run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Static {
    root: PathBuf,
    prefix: String,
    index: String,
    max_file_size: u64,
    max_head_size: usize,
    idle_timeout: Duration,
    cache_control: String,
}

/// Why a path is not served.
#[derive(Debug, PartialEq, Eq)]
struct Refusal(u16, &'static str);

/// What a path names.
#[derive(Debug)]
enum Found {
    File(PathBuf, Metadata),
    /// A folder asked for without its trailing slash: redirect there.
    Folder(String),
}

impl Static {
    /// Serves the folder `root` (relative to the working directory, or absolute).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = fs::canonicalize(&root).unwrap_or_else(|e| {
            log::warn!(
                "static folder {} is not there ({e}); every request gets 404",
                root.display()
            );
            root
        });
        Static {
            root,
            prefix: "/".into(),
            index: "index.html".into(),
            max_file_size: 16 << 20,
            max_head_size: 8 << 10,
            idle_timeout: Duration::from_secs(30),
            cache_control: "no-cache".into(),
        }
    }

    /// The folder served, resolved.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file served for a folder. Default: `index.html`.
    #[must_use]
    pub fn index(mut self, name: impl Into<String>) -> Self {
        self.index = name.into();
        self
    }

    /// Largest file served, in bytes. Default: 16 MiB.
    #[must_use]
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Largest request head read; larger gets `431`. Default: 8 KiB.
    #[must_use]
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes;
        self
    }

    /// How long a keep-alive connection may wait for its next request. Default: 30 s.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The `Cache-Control` sent with files. Default: `no-cache` (browsers keep the file
    /// and ask whether it changed, which the `ETag` answers with `304`).
    #[must_use]
    pub fn cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = value.into();
        self
    }

    /// Answers one request: writes the head and as much of the body as fits, leaving
    /// the rest in `state`. Returns whether the connection stays open.
    fn respond(&self, req: &Request, state: &mut StaticState, out: &mut Outbox<'_>) -> Persist {
        let persist = persist(req);
        let method = req.method();
        let out_bytes = out.output();
        if method != "GET" && method != "HEAD" {
            let allow = "Allow: GET, HEAD\r\n";
            write_error(
                out_bytes,
                405,
                "static files answer GET and HEAD",
                allow,
                persist,
            );
            return persist;
        }
        let path = target_path(req.target());
        let (file, meta) = match self.resolve(path) {
            Ok(Found::File(file, meta)) => (file, meta),
            Ok(Found::Folder(location)) => {
                let headers = format!("Location: {location}\r\n");
                write_error(out_bytes, 301, &location, &headers, persist);
                return persist;
            }
            Err(Refusal(status, reason)) => {
                log::debug!("static: {path:?} refused: {reason}");
                write_error(out_bytes, status, reason, "", persist);
                return persist;
            }
        };
        if meta.len() > self.max_file_size {
            log::warn!("static: {} is larger than max_file_size", file.display());
            write_error(out_bytes, 500, "file too large to serve", "", persist);
            return persist;
        }
        let opened = match File::open(&file) {
            Ok(opened) => opened,
            Err(e) => {
                log::warn!("static: cannot read {}: {e}", file.display());
                write_error(out_bytes, 404, "not found", "", persist);
                return persist;
            }
        };
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        let etag = etag(&meta, modified);
        let mut headers = format!(
            "ETag: {etag}\r\nLast-Modified: {}\r\nCache-Control: {}\r\n",
            httpdate::fmt_http_date(modified),
            self.cache_control
        );
        if not_modified(req, &etag, modified) {
            write_head(out_bytes, 304, &headers, None, persist);
            return persist;
        }
        headers.push_str(&format!(
            "Content-Type: {}\r\nX-Content-Type-Options: nosniff\r\n",
            content_type(&file)
        ));
        write_head(out_bytes, 200, &headers, Some(meta.len()), persist);
        if method == "GET" && meta.len() > 0 {
            state.body = Some(Body {
                file: opened,
                path: file,
                left: meta.len(),
            });
            state.close_after = !persist.kept();
            self.send_body(state, out);
        }
        persist
    }

    /// Writes as much of the body being sent as the output budget has room for (at least
    /// one chunk), and asks to be called again when the client has taken it.
    fn send_body(&self, state: &mut StaticState, out: &mut Outbox<'_>) {
        let Some(body) = &mut state.body else {
            return;
        };
        let want = out.room().clamp(4 << 10, CHUNK) as u64;
        let take = want.min(body.left);
        let output = out.output();
        let start = output.len();
        let read = (&mut body.file).take(take).read_to_end(output);
        match read {
            Ok(n) if n as u64 == take => body.left -= take,
            failed => {
                // The head promised more: the connection cannot go on.
                output.truncate(start);
                log::warn!(
                    "static: {} stopped reading: {failed:?}",
                    body.path.display()
                );
                state.body = None;
                out.shutdown();
                return;
            }
        }
        if body.left > 0 {
            out.set_deadline(None);
            out.notify_drained();
            return;
        }
        state.body = None;
        if state.close_after {
            out.shutdown();
        } else {
            out.set_deadline(Some(out.after(self.idle_timeout)));
        }
    }

    /// The file a request path names, if it is inside the folder.
    fn resolve(&self, path: &str) -> Result<Found, Refusal> {
        let Some(rel) = path.strip_prefix(self.prefix.as_str()) else {
            if format!("{path}/") == self.prefix {
                return Ok(Found::Folder(self.prefix.clone()));
            }
            return Err(Refusal(404, "not found"));
        };
        let well_known = rel == ".well-known" || rel.starts_with(".well-known/");
        let decoded = percent_encoding::percent_decode_str(rel)
            .decode_utf8()
            .map_err(|_| Refusal(400, "path is not UTF-8"))?;
        if decoded.contains(['\0', '\\']) {
            return Err(Refusal(400, "path holds a NUL or a backslash"));
        }
        let mut file = self.root.clone();
        for (i, segment) in decoded.split('/').enumerate() {
            match segment {
                "" | "." => {}
                ".." => return Err(Refusal(400, "path leaves the folder")),
                ".well-known" if i == 0 && well_known => file.push(segment),
                hidden if hidden.starts_with('.') => return Err(Refusal(404, "not found")),
                name => file.push(name),
            }
        }
        let real = self.inside(&file)?;
        let meta = fs::metadata(&real).map_err(|_| Refusal(404, "not found"))?;
        if meta.is_file() {
            if decoded.ends_with('/') {
                return Err(Refusal(404, "not found")); // a file is not a folder
            }
            return Ok(Found::File(real, meta));
        }
        if !decoded.is_empty() && !decoded.ends_with('/') {
            // Runs of slashes collapse, so the redirect never leaves the site (`//host/`
            // would be protocol-relative).
            let mut location = String::with_capacity(path.len() + 1);
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                location.push('/');
                location.push_str(segment);
            }
            location.push('/');
            return Ok(Found::Folder(location));
        }
        let index = self.inside(&real.join(&self.index))?;
        match fs::metadata(&index) {
            Ok(meta) if meta.is_file() => Ok(Found::File(index, meta)),
            _ => Err(Refusal(404, "not found")),
        }
    }

    /// Where `path` really leads, if that is inside the folder: symlinks may point
    /// anywhere.
    fn inside(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let real = fs::canonicalize(path).map_err(|_| Refusal(404, "not found"))?;
        if !real.starts_with(&self.root) {
            return Err(Refusal(403, "path leaves the folder"));
        }
        Ok(real)
    }
}

/// A strong validator from the size and the modification time.
fn etag(meta: &Metadata, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("\"{:x}-{nanos:x}\"", meta.len())
}

/// Whether the client's copy is current (RFC 9110 §13.1.2: `If-None-Match` wins over
/// `If-Modified-Since`).
fn not_modified(req: &Request, etag: &str, modified: SystemTime) -> bool {
    if let Some(tags) = req.header("If-None-Match") {
        return tags
            .split(',')
            .map(|t| t.trim())
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag);
    }
    req.header("If-Modified-Since")
        .and_then(|since| httpdate::parse_http_date(since).ok())
        .is_some_and(|since| {
            // HTTP dates have whole seconds.
            let modified = modified
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let since = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            modified <= since
        })
}

/// The media type of a file, by its extension.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// Most bytes of a body read in one go.
const CHUNK: usize = 256 << 10;

/// A connection's state under [`Static`]: the body being sent, if any.
#[derive(Debug, Default)]
pub struct StaticState {
    body: Option<Body>,
    /// `Connection: close`: shut down once the body is sent.
    close_after: bool,
}

#[derive(Debug)]
struct Body {
    file: File,
    path: PathBuf,
    left: u64,
}

impl Protocol for Static {
    type ConnState = StaticState;

    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits::default().with_unconsumed(self.max_head_size))
    }

    fn busy(&self, out: &mut Vec<u8>) {
        write_busy(out);
    }

    fn connect(&mut self, _id: ConnId, _peer: SocketAddr, out: &mut Outbox<'_>) -> StaticState {
        out.set_deadline(Some(out.after(self.idle_timeout)));
        StaticState::default()
    }

    /// Answers the first request in `data` (the server offers the rest again, so that a
    /// router may send the next pipelined request elsewhere); takes nothing while a body
    /// is being sent.
    fn data(&mut self, state: &mut StaticState, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        if state.body.is_some() {
            return 0;
        }
        match request(out, data, self.max_head_size) {
            Head::Partial => 0,
            Head::Bad(status, reason) => refuse(out, status, &reason, data),
            Head::Complete(req, len) => {
                let persist = self.respond(&req, state, out);
                if state.body.is_some() {
                    return if persist.kept() { len } else { data.len() };
                }
                if persist.kept() {
                    out.set_deadline(Some(out.after(self.idle_timeout)));
                    len
                } else {
                    out.shutdown();
                    data.len()
                }
            }
        }
    }

    fn drained(&mut self, state: &mut StaticState, out: &mut Outbox<'_>) {
        self.send_body(state, out);
    }

    fn timeout(&mut self, _state: &mut StaticState, out: &mut Outbox<'_>) {
        out.shutdown();
    }

    fn disconnect(&mut self, _state: StaticState, _out: &mut Outbox<'_>) {}

    fn encoding(&self, _state: &StaticState) -> Option<u8> {
        None
    }

    /// Static connections take no messages.
    fn encode(&mut self, _state: &mut StaticState, _msg: &Payload, _buf: &mut Vec<u8>) {}

    fn close(
        &mut self,
        _state: &mut StaticState,
        _code: CloseCode,
        _reason: &str,
        out: &mut Outbox<'_>,
    ) {
        out.shutdown();
    }

    fn reusable(&self, state: &StaticState) -> bool {
        state.body.is_none()
    }

    fn mount(&mut self, prefix: &str) {
        self.prefix = prefix.to_owned();
    }
}

/// Several workers: each serves the same folder.
impl crate::workers::Split for Static {
    type Worker = Static;

    fn split(self, _: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        Box::new(move |_| self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type(Path::new("a/index.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("app.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("logo.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }

    #[test]
    fn folders_redirect_within_the_site_and_files_take_no_slash() {
        let dir = std::env::temp_dir().join(format!("ratchet-static-{}", std::process::id()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::create_dir_all(dir.join(".well-known")).unwrap();
        fs::write(dir.join("app.js"), "x").unwrap();
        fs::write(dir.join(".well-known/security.txt"), "x").unwrap();
        fs::write(dir.join(".env"), "x").unwrap();
        let files = Static::new(&dir);
        assert!(matches!(files.resolve("//sub"), Ok(Found::Folder(to)) if to == "/sub/"));
        assert!(matches!(files.resolve("/sub"), Ok(Found::Folder(to)) if to == "/sub/"));
        assert!(matches!(files.resolve("/app.js/"), Err(Refusal(404, _))));
        assert!(matches!(files.resolve("/app.js"), Ok(Found::File(..))));
        assert!(matches!(
            files.resolve("/.well-known/security.txt"),
            Ok(Found::File(..))
        ));
        assert!(matches!(files.resolve("/.env"), Err(Refusal(404, _))));
        assert!(matches!(files.resolve("/sub/.env"), Err(Refusal(404, _))));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_outside_the_prefix_are_not_found_and_the_bare_prefix_redirects() {
        let mut files = Static::new(".");
        files.mount("/assets/");
        assert!(matches!(files.resolve("/other"), Err(Refusal(404, _))));
        assert!(matches!(files.resolve("/assets"), Ok(Found::Folder(to)) if to == "/assets/"));
    }
}
