//! A real nginx (Debian's) in front of a server, configured as the README shows: the
//! upgrade headers passed on, and `X-Forwarded-For`.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

/// nginx in front of `server` as the README shows it, connecting from 127.0.0.3. Stopped
/// when dropped.
pub struct Nginx {
    child: Child,
    /// Its configuration, logs and scratch files; removed after it stops.
    _dir: crate::Folder,
    /// Where nginx listens.
    pub addr: SocketAddr,
}

impl Nginx {
    /// Starts nginx on a free loopback port, proxying to `server`.
    pub fn start(server: SocketAddr) -> Self {
        let port = crate::free_port();
        let dir = crate::folder("nginx", &[]);
        let d = dir.display();
        let config = format!(
            "daemon off;\nworker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
               fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
               server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
                 proxy_pass http://{server};\n      proxy_http_version 1.1;\n\
                 proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection \"upgrade\";\n\
                 proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $remote_addr;\n\
                 proxy_bind 127.0.0.3;\n    }}\n  }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("nginx")
            .arg("-c")
            .arg(&path)
            .arg("-p")
            .arg(&*dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        crate::wait_until("nginx listening", || TcpStream::connect(addr).is_ok());
        Nginx {
            child,
            _dir: dir,
            addr,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
