//! A TCP proxy on 127.0.0.1 that forwards to a test server and can break the connection once,
//! after a given number of bytes sent upstream — to test that uploads resume or abort cleanly.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// A running proxy.
pub struct Proxy {
    /// Port it listens on.
    pub port: u16,
    /// Bytes forwarded upstream so far.
    pub upstream_bytes: Arc<AtomicU64>,
    /// Whether the connection was cut.
    pub cut: Arc<AtomicBool>,
}

/// Starts a proxy to `127.0.0.1:upstream` that cuts the connection carrying the byte number
/// `cut_after` (once; `None` never cuts).
pub fn start(upstream: u16, cut_after: Option<u64>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream_bytes = Arc::new(AtomicU64::new(0));
    let cut = Arc::new(AtomicBool::new(false));
    let (bytes, cut_flag) = (upstream_bytes.clone(), cut.clone());
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (bytes, cut_flag) = (bytes.clone(), cut_flag.clone());
            std::thread::spawn(move || pump(client, server, Some((bytes, cut_flag, cut_after))));
            std::thread::spawn(move || pump(s2, c2, None));
        }
    });
    Proxy {
        port,
        upstream_bytes,
        cut,
    }
}

type Budget = (Arc<AtomicU64>, Arc<AtomicBool>, Option<u64>);

fn pump(mut from: TcpStream, mut to: TcpStream, budget: Option<Budget>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((bytes, cut, limit)) = &budget {
            let total = bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            if let Some(limit) = limit {
                if total > *limit && !cut.swap(true, Ordering::SeqCst) {
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
