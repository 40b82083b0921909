//! A loopback HTTP server for redirects the simulators do not serve (a `303 See Other` to a
//! `POST`): `/from` answers with a redirect, every other path with `401`, and every request
//! is recorded. Plain `std::net` on a thread of its own, one request per connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

/// The running server; it lives as long as the test process.
pub struct Redirector {
    origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Redirector {
    /// Answers `/from` with `status` and `Location: location`, anything else with `401`.
    pub fn start(status: u16, location: &str) -> Self {
        let location = location.to_owned();
        Self::answering(move |request| (request.path == "/from").then(|| (status, location.clone())))
    }

    /// Answers each request with the redirect `answer` gives it (status, `Location`), or
    /// with `401` when it gives none.
    pub fn answering(answer: impl Fn(&Seen) -> Option<(u16, String)> + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(request) = read_request(&stream) {
                    let head = match answer(&request) {
                        Some((status, location)) => format!("HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\n"),
                        None => "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n".to_owned(),
                    };
                    record.lock().expect("lock").push(request);
                    let _ =
                        (&stream).write_all(format!("{head}Content-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
                }
            }
        });
        Self { origin, seen }
    }

    /// `http://127.0.0.1:port`.
    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    /// `{origin}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Every request received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

/// The request line, the `Authorization` header and a `Content-Length` body.
fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut authorization, mut length) = (None, 0);
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_owned()),
            "content-length" => length = value.trim().parse().ok()?,
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { method, path, authorization, body: String::from_utf8_lossy(&body).into_owned() })
}
