//! Static files from a folder, over HTTP/1.1 with keep-alive.

use super::{header, keep_alive, parse_head, refuse, target_path, write_error, write_head, Head};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::protocol::{Outbox, Protocol};
use crate::CloseCode;
use std::fs::{self, Metadata};
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
/// symlink, outside the folder gets `403`; hidden files (`.env`, `.git/…`) get `404`.
///
/// Files are read whole when asked for, on the event loop: this is for an application's
/// own page and assets, not a file server. Larger than
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

    /// Answers one request; returns whether the connection stays open.
    fn respond(&self, req: &httparse::Request<'_, '_>, out: &mut Vec<u8>) -> bool {
        let keep = keep_alive(req);
        let method = req.method.unwrap_or("");
        if method != "GET" && method != "HEAD" {
            write_error(
                out,
                405,
                "static files answer GET and HEAD",
                "Allow: GET, HEAD\r\n",
                keep,
            );
            return keep;
        }
        let path = target_path(req.path.unwrap_or("/"));
        let (file, meta) = match self.resolve(path) {
            Ok(Found::File(file, meta)) => (file, meta),
            Ok(Found::Folder(location)) => {
                let headers = format!("Location: {location}\r\n");
                write_error(out, 301, &location, &headers, keep);
                return keep;
            }
            Err(Refusal(status, reason)) => {
                log::debug!("static: {path:?} refused: {reason}");
                write_error(out, status, reason, "", keep);
                return keep;
            }
        };
        if meta.len() > self.max_file_size {
            log::warn!("static: {} is larger than max_file_size", file.display());
            write_error(out, 500, "file too large to serve", "", keep);
            return keep;
        }
        let modified = meta.modified().unwrap_or(UNIX_EPOCH);
        let etag = etag(&meta, modified);
        let mut headers = format!(
            "ETag: {etag}\r\nLast-Modified: {}\r\nCache-Control: {}\r\n",
            httpdate::fmt_http_date(modified),
            self.cache_control
        );
        if not_modified(req, &etag, modified) {
            write_head(out, 304, &headers, None, keep);
            return keep;
        }
        headers.push_str(&format!(
            "Content-Type: {}\r\nX-Content-Type-Options: nosniff\r\n",
            content_type(&file)
        ));
        let start = out.len();
        write_head(out, 200, &headers, Some(meta.len() as usize), keep);
        if method == "GET" {
            // Straight into the connection's output; a file that cannot be read whole
            // takes its head back with it.
            let read = fs::File::open(&file)
                .and_then(|f| f.take(meta.len()).read_to_end(out))
                .and_then(|n| match n as u64 == meta.len() {
                    true => Ok(()),
                    false => Err(std::io::ErrorKind::UnexpectedEof.into()),
                });
            if let Err(e) = read {
                out.truncate(start);
                return unreadable(&file, e, out, keep);
            }
        }
        keep
    }

    /// The file a request path names, if it is inside the folder.
    fn resolve(&self, path: &str) -> Result<Found, Refusal> {
        let Some(rel) = path.strip_prefix(self.prefix.as_str()) else {
            if format!("{path}/") == self.prefix {
                return Ok(Found::Folder(self.prefix.clone()));
            }
            return Err(Refusal(404, "not found"));
        };
        let decoded = percent_encoding::percent_decode_str(rel)
            .decode_utf8()
            .map_err(|_| Refusal(400, "path is not UTF-8"))?;
        if decoded.contains(['\0', '\\']) {
            return Err(Refusal(400, "path holds a NUL or a backslash"));
        }
        let mut file = self.root.clone();
        for segment in decoded.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(Refusal(400, "path leaves the folder")),
                hidden if hidden.starts_with('.') => return Err(Refusal(404, "not found")),
                name => file.push(name),
            }
        }
        let real = self.inside(&file)?;
        let meta = fs::metadata(&real).map_err(|_| Refusal(404, "not found"))?;
        if meta.is_file() {
            return Ok(Found::File(real, meta));
        }
        if !decoded.is_empty() && !decoded.ends_with('/') {
            return Ok(Found::Folder(format!("{path}/")));
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

/// A file found but not readable: logged, and answered as not found.
fn unreadable(file: &Path, e: std::io::Error, out: &mut Vec<u8>, keep: bool) -> bool {
    log::warn!("static: cannot read {}: {e}", file.display());
    write_error(out, 404, "not found", "", keep);
    keep
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
fn not_modified(req: &httparse::Request<'_, '_>, etag: &str, modified: SystemTime) -> bool {
    if let Some(tags) = header(req, "If-None-Match") {
        return tags
            .split(',')
            .map(|t| t.trim())
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag);
    }
    header(req, "If-Modified-Since")
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

impl Protocol for Static {
    type ConnState = ();

    fn connect(&mut self, _id: ConnId, _peer: SocketAddr, out: &mut Outbox<'_>) {
        out.set_deadline(Some(out.now() + self.idle_timeout));
    }

    /// Answers the first request in `data` (the server offers the rest again, so that a
    /// router may send the next pipelined request elsewhere).
    fn data(&mut self, _state: &mut (), data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        let output = out.output();
        match parse_head(data, self.max_head_size, |req, _| self.respond(req, output)) {
            Head::Partial => 0,
            Head::Complete(true, len) => {
                out.set_deadline(Some(out.now() + self.idle_timeout));
                len
            }
            Head::Complete(false, _) => {
                out.shutdown();
                data.len()
            }
            Head::Bad(status, reason) => refuse(out, status, &reason, data),
        }
    }

    fn timeout(&mut self, _state: &mut (), out: &mut Outbox<'_>) {
        out.shutdown();
    }

    fn disconnect(&mut self, _state: (), _out: &mut Outbox<'_>) {}

    fn encoding(&self, _state: &()) -> Option<u8> {
        None
    }

    /// Static connections take no messages.
    fn encode(&mut self, _state: &mut (), _msg: &Payload, _buf: &mut Vec<u8>) {}

    fn close(&mut self, _state: &mut (), _code: CloseCode, _reason: &str, out: &mut Outbox<'_>) {
        out.shutdown();
    }

    fn reusable(&self, _state: &()) -> bool {
        true
    }

    fn mount(&mut self, prefix: &str) {
        self.prefix = prefix.to_owned();
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
    fn paths_outside_the_prefix_are_not_found_and_the_bare_prefix_redirects() {
        let mut files = Static::new(".");
        files.mount("/assets/");
        assert!(matches!(files.resolve("/other"), Err(Refusal(404, _))));
        assert!(matches!(files.resolve("/assets"), Ok(Found::Folder(to)) if to == "/assets/"));
    }
}
