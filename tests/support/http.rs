//! A small HTTP/1.1 server on 127.0.0.1 serving release assets, with injectable faults.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Reply {
    Ok(Vec<u8>),
    Status(u16),
    /// Announces the full length, sends only `sent` bytes, then closes.
    Truncated(Vec<u8>, usize),
    /// Sends `sent` bytes and then nothing for a long time.
    Stall(Vec<u8>, usize),
}

pub struct Server {
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Server {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (routes.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || handle(conn, &r, &s));
            }
        });
        Self {
            base: format!("http://{addr}"),
            routes,
            stop,
            addr,
        }
    }

    pub fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.to_string(), reply);
    }

    /// Serves every file of `dir` at `/<prefix>/<name>`.
    pub fn serve_dir(&self, prefix: &str, dir: &std::path::Path) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.path().is_file() {
                let name = e.file_name().to_string_lossy().into_owned();
                self.route(
                    &format!("{prefix}/{name}"),
                    Reply::Ok(std::fs::read(e.path()).unwrap()),
                );
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(mut conn: TcpStream, routes: &Mutex<HashMap<String, Reply>>, stop: &AtomicBool) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
    }
    let reply = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Reply::Status(404));
    let head = |code: u16, len: usize| {
        format!("HTTP/1.1 {code} X\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    match reply {
        Reply::Ok(body) => {
            let _ = conn.write_all(head(200, body.len()).as_bytes());
            let _ = conn.write_all(&body);
        }
        Reply::Status(code) => {
            let _ = conn.write_all(head(code, 5).as_bytes());
            let _ = conn.write_all(b"error");
        }
        Reply::Truncated(body, sent) => {
            let _ = conn.write_all(head(200, body.len()).as_bytes());
            let _ = conn.write_all(&body[..sent]);
        }
        Reply::Stall(body, sent) => {
            let _ = conn.write_all(head(200, body.len()).as_bytes());
            let _ = conn.write_all(&body[..sent]);
            let _ = conn.flush();
            for _ in 0..300 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let _ = conn.flush();
}
