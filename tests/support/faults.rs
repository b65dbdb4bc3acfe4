//! An HTTP/1.1 fault-injecting proxy on 127.0.0.1, placed between Ferry and a test server: it
//! forwards each request on a fresh upstream connection and, according to its current mode,
//! answers some requests itself with an error, cuts some responses short while keeping the
//! declared length, stalls, or resets connections. The mode can change while it runs. Every
//! loop is bounded by the requests it is sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to the requests it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything.
    Pass,
    /// Answer every n-th request with HTTP 503 SlowDown.
    Throttle(u64),
    /// Answer every request with HTTP 500 (a persistent failure).
    AlwaysFail,
    /// Answer every write (PUT, POST, DELETE) with HTTP 500; reads pass.
    FailWrites,
    /// Cut every n-th response body in half (declared length kept).
    Truncate(u64),
    /// Close the connection without an answer on every n-th request.
    Reset(u64),
    /// Wait this many milliseconds before every n-th answer.
    Stall(u64, u64),
}

/// A running fault proxy.
pub struct FaultProxy {
    /// Port it listens on.
    pub port: u16,
    mode: Arc<Mutex<Mode>>,
    /// Requests seen.
    pub requests: Arc<AtomicU64>,
    /// Faults injected.
    pub injected: Arc<AtomicU64>,
    /// Request lines (method and path) of the requests that carried a `Range` header.
    pub ranged: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// Starts a proxy to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, mode: Mode) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = FaultProxy {
            port,
            mode: Arc::new(Mutex::new(mode)),
            requests: Arc::new(AtomicU64::new(0)),
            injected: Arc::new(AtomicU64::new(0)),
            ranged: Arc::new(Mutex::new(Vec::new())),
        };
        let seen = Seen {
            requests: proxy.requests.clone(),
            injected: proxy.injected.clone(),
            ranged: proxy.ranged.clone(),
        };
        let mode = proxy.mode.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (mode, seen) = (mode.clone(), seen.clone());
                std::thread::spawn(move || serve(client, upstream, &mode, &seen));
            }
        });
        proxy
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes what the proxy does from the next request on.
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

/// What the proxy counts and records, shared by its connections.
#[derive(Clone)]
struct Seen {
    requests: Arc<AtomicU64>,
    injected: Arc<AtomicU64>,
    ranged: Arc<Mutex<Vec<String>>>,
}

/// One request: head lines and body.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { head, body })
}

fn serve(client: TcpStream, upstream: u16, mode: &Mutex<Mode>, seen: &Seen) {
    let injected = &seen.injected;
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut client = client;
    while let Some(request) = read_request(&mut reader) {
        let n = seen.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if request
            .head
            .iter()
            .any(|l| l.to_ascii_lowercase().starts_with("range:"))
        {
            let line = request.head[0].trim_end().to_string();
            seen.ranged.lock().unwrap().push(line);
        }
        let mode = *mode.lock().unwrap();
        let hit = |every: u64| every > 0 && n.is_multiple_of(every);
        match mode {
            Mode::Throttle(every) if hit(every) => {
                injected.fetch_add(1, Ordering::SeqCst);
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                let _ = write!(client, "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                continue;
            }
            Mode::FailWrites
                if !request.head[0].starts_with("GET") && !request.head[0].starts_with("HEAD") =>
            {
                injected.fetch_add(1, Ordering::SeqCst);
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>";
                let _ = write!(client, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                continue;
            }
            Mode::AlwaysFail => {
                injected.fetch_add(1, Ordering::SeqCst);
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>";
                let _ = write!(client, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                continue;
            }
            Mode::Reset(every) if hit(every) => {
                injected.fetch_add(1, Ordering::SeqCst);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Mode::Stall(every, ms) if hit(every) => {
                injected.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(ms));
            }
            _ => {}
        }
        // Forward on a fresh upstream connection that closes after the response.
        let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
            let _ = client.shutdown(Shutdown::Both);
            return;
        };
        let mut head: Vec<String> = request
            .head
            .iter()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .cloned()
            .collect();
        head.push("Connection: close\r\n".to_string());
        let mut out = head.concat().into_bytes();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&request.body);
        if up.write_all(&out).is_err() {
            return;
        }
        let mut response = Vec::new();
        if up.read_to_end(&mut response).is_err() {
            return;
        }
        let truncate = matches!(mode, Mode::Truncate(every) if hit(every));
        if truncate {
            if let Some(split) = find(&response, b"\r\n\r\n") {
                let body_len = response.len() - split - 4;
                if body_len > 1 {
                    injected.fetch_add(1, Ordering::SeqCst);
                    let _ = client.write_all(&response[..split + 4 + body_len / 2]);
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        // The response came with `Connection: close` from upstream. A response that carries
        // its own length keeps the client connection open; one delimited by the close closes it.
        let head_end = find(&response, b"\r\n\r\n").unwrap_or(response.len());
        let head_text = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
        let framed =
            head_text.contains("content-length:") || head_text.contains("transfer-encoding:");
        if framed {
            if client.write_all(&rewrite_connection(response)).is_err() {
                return;
            }
        } else {
            let _ = client.write_all(&response);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The response without its `Connection` header (so the client keeps its connection).
fn rewrite_connection(response: Vec<u8>) -> Vec<u8> {
    let Some(split) = find(&response, b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let kept: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let mut out = kept.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&response[split + 4..]);
    out
}
