//! `trove-compressor healthcheck`: asks the running service's `/readyz` over HTTP, so that a
//! container HEALTHCHECK needs no shell or HTTP client in the image.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::config::Config;

/// Longest answer read: `/readyz` answers a line of JSON.
const MAX_ANSWER: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("cannot reach the compressor at {addr}: {source}")]
    Unreachable {
        addr: String,
        source: std::io::Error,
    },
    #[error("no HTTP answer from {addr}: {reason}")]
    BadAnswer { addr: String, reason: String },
    #[error("not ready: {addr}/readyz answered {status} {body}")]
    NotReady {
        addr: String,
        status: u16,
        body: String,
    },
}

/// The address the service listening on `host` answers on locally: the loopback address when
/// it listens on every interface, otherwise `host` itself.
pub fn local_host(host: &str) -> &str {
    match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "::1",
        _ => host,
    }
}

/// Checks the service that `config` describes.
pub fn check_config(config: &Config, timeout: Duration) -> Result<(), HealthError> {
    check(local_host(&config.host), config.port, timeout)
}

/// `Ok` when `GET /readyz` on `host:port` answers 200 within `timeout` per step.
pub fn check(host: &str, port: u16, timeout: Duration) -> Result<(), HealthError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let unreachable = |source| HealthError::Unreachable {
        addr: addr.clone(),
        source,
    };
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    let mut stream = None;
    for socket in (host, port).to_socket_addrs().map_err(unreachable)? {
        match TcpStream::connect_timeout(&socket, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut stream = stream.ok_or_else(|| unreachable(last))?;
    let bad = |reason: String| HealthError::BadAnswer {
        addr: addr.clone(),
        reason,
    };
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| bad(e.to_string()))?;
    let request =
        format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(|e| bad(e.to_string()))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|line| {
            let mut parts = line.split_whitespace();
            let version = parts.next()?;
            version.starts_with("HTTP/").then_some(())?;
            parts.next()?.parse::<u16>().ok()
        })
        .ok_or_else(|| bad(format!("{:?}", head.lines().next().unwrap_or(""))))?;
    if status == 200 {
        Ok(())
    } else {
        Err(HealthError::NotReady {
            addr,
            status,
            body: body.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot HTTP server that answers the first request with `answer`.
    fn answer_once(answer: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let n = conn.read(&mut request).unwrap();
            assert!(request[..n].starts_with(b"GET /readyz HTTP/1.1\r\n"));
            conn.write_all(answer.as_bytes()).unwrap();
        });
        port
    }

    const TIMEOUT: Duration = Duration::from_secs(5);

    #[test]
    fn ready_only_on_200() {
        let ok = answer_once("HTTP/1.1 200 OK\r\ncontent-length: 18\r\n\r\n{\"status\":\"ready\"}");
        check("127.0.0.1", ok, TIMEOUT).unwrap();

        let busy = answer_once(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 20\r\n\r\n{\"error\":\"no db\"}\n",
        );
        let err = check("127.0.0.1", busy, TIMEOUT).unwrap_err();
        assert!(
            matches!(err, HealthError::NotReady { status: 503, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("no db"), "{err}");

        let garbage = answer_once("hello\r\n\r\n");
        let err = check("127.0.0.1", garbage, TIMEOUT).unwrap_err();
        assert!(matches!(err, HealthError::BadAnswer { .. }), "{err}");
    }

    #[test]
    fn nobody_listening_is_unreachable() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // bound, then closed: nothing listens there now
        let err = check("127.0.0.1", port, TIMEOUT).unwrap_err();
        assert!(matches!(err, HealthError::Unreachable { .. }), "{err}");
    }

    #[test]
    fn wildcard_addresses_are_checked_on_loopback() {
        assert_eq!(local_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(local_host("::"), "::1");
        assert_eq!(local_host("10.1.2.3"), "10.1.2.3");
        assert_eq!(local_host("localhost"), "localhost");
    }
}
