//! What `#[ratchet::app(...)]` knows: its protocols and its keys, the tables the validator
//! works from and the attribute's docs are tested against.

/// A protocol the struct attribute can serve.
pub struct ProtocolChoice {
    /// The name users write: `protocol = "websocket"`.
    pub name: &'static str,
    /// The decorator type in `ratchet` that wraps the app.
    pub decorator: &'static str,
    /// The URL scheme printed at start-up.
    pub scheme: &'static str,
    /// Whether it is served over HTTP, so that the keys `deflate`, `path`, `static_dir`,
    /// `origins` and `subprotocols` apply.
    pub http: bool,
    /// Its address when it is not the first protocol and `bind` does not name one.
    pub default_bind: &'static str,
}

/// Every protocol the DSL knows; a new one is a line here and a decorator in `ratchet`.
pub const PROTOCOLS: &[ProtocolChoice] = &[
    ProtocolChoice {
        name: "websocket",
        decorator: "WebSocket",
        scheme: "ws",
        http: true,
        default_bind: "127.0.0.1:8080",
    },
    ProtocolChoice {
        name: "line",
        decorator: "Line",
        scheme: "tcp",
        http: false,
        default_bind: "127.0.0.1:2323",
    },
];

/// A key `#[ratchet::app]` takes: the table the validator uses and the attribute's docs
/// are checked against (each key has a row `| `name` | takes | `example` |` there).
pub struct Key {
    pub name: &'static str,
    /// What it takes, in words.
    pub takes: &'static str,
    /// The key written out.
    pub example: &'static str,
    /// Only for protocols served over HTTP.
    pub http: bool,
}

pub const KEYS: &[Key] = &[
    Key {
        name: "protocol",
        takes: "a protocol's name, or a list",
        example: r#"protocol = ["websocket", "line"]"#,
        http: false,
    },
    Key {
        name: "bind",
        takes: "an address, or one per protocol",
        example: r#"bind = "127.0.0.1:8080""#,
        http: false,
    },
    Key {
        name: "main",
        takes: "a bool",
        example: "main = false",
        http: false,
    },
    Key {
        name: "tls_cert",
        takes: "a PEM file",
        example: r#"tls_cert = "/etc/chat/cert.pem""#,
        http: false,
    },
    Key {
        name: "tls_key",
        takes: "a PEM file",
        example: r#"tls_key = "/etc/chat/key.pem""#,
        http: false,
    },
    Key {
        name: "rate",
        takes: "a rate per connection",
        example: r#"rate = "10/s""#,
        http: false,
    },
    Key {
        name: "conn_state",
        takes: "a type",
        example: "conn_state = Player",
        http: false,
    },
    Key {
        name: "deflate",
        takes: "a bool",
        example: "deflate = true",
        http: true,
    },
    Key {
        name: "outbound_tls",
        takes: "a bool",
        example: "outbound_tls = true",
        http: false,
    },
    Key {
        name: "metrics",
        takes: "a path",
        example: r#"metrics = "/metrics""#,
        http: true,
    },
    Key {
        name: "path",
        takes: "a path",
        example: r#"path = "/chat""#,
        http: true,
    },
    Key {
        name: "static_dir",
        takes: "a folder",
        example: r#"static_dir = "public""#,
        http: true,
    },
    Key {
        name: "origins",
        takes: "a list of origins",
        example: r#"origins = ["https://chat.example"]"#,
        http: true,
    },
    Key {
        name: "subprotocols",
        takes: "a list of names",
        example: r#"subprotocols = ["v2", "v1"]"#,
        http: true,
    },
    Key {
        name: "blacklist",
        takes: "a list of IP addresses",
        example: r#"blacklist = ["192.0.2.7"]"#,
        http: false,
    },
    Key {
        name: "redis",
        takes: "a Redis URL (a cluster: any of its nodes, or several, comma-separated)",
        example: r#"redis = "redis://127.0.0.1:6379/""#,
        http: false,
    },
    Key {
        name: "history",
        takes: "topic patterns with the messages kept and for how long",
        example: r#"history = [("chat*", 100, "5m")]"#,
        http: false,
    },
    Key {
        name: "workers",
        takes: "a number of worker threads, or \"auto\" (one per core)",
        example: r#"workers = 4"#,
        http: false,
    },
    Key {
        name: "reuse_port",
        takes: "a bool",
        example: "reuse_port = true",
        http: false,
    },
    Key {
        name: "session",
        takes: "a session format",
        example: r#"session = "php""#,
        http: true,
    },
];

/// The values `session` takes.
pub const SESSION_FORMATS: &[(&str, &str)] = &[
    ("php", "Php"),
    ("php_serialize", "PhpSerialize"),
    ("json", "Json"),
];
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// The most worker threads `workers` takes.
pub const MAX_WORKERS: usize = 256;
