//! A tiny NATS client speaking the text protocol over `std::net::TcpStream`.
//!
//! Supported: `CONNECT`, `PING`/`PONG`, `SUB`, `UNSUB`, `PUB` (with reply
//! subject), and receiving `INFO`, `MSG`, `+OK`, `-ERR`. Every blocking call has
//! a deadline so that a missing or stuck server turns into
//! [`NatsError::Timeout`] or [`NatsError::Connect`] instead of a hang.
//!
//! The wire parser ([`parse_server_op`]) is a pure function over a byte buffer,
//! which is what the unit tests exercise; the [`Client`] is the I/O edge.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::subject::{Subject, SubjectError};

/// Something the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    Info(String),
    Msg(Message),
    Ping,
    Pong,
    Ok,
    Err(String),
}

/// A delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub sid: u64,
    pub reply_to: Option<String>,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub enum NatsError {
    /// The TCP connection could not be established.
    Connect {
        addr: String,
        source: io::Error,
    },
    Io(io::Error),
    /// No answer within the deadline.
    Timeout {
        waiting_for: &'static str,
        after: Duration,
    },
    /// The server sent something this client does not understand.
    Protocol(String),
    /// The server reported an error (`-ERR`).
    Server(String),
    Subject(SubjectError),
    /// The server closed the connection.
    Closed,
}

impl fmt::Display for NatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NatsError::Connect { addr, source } => {
                write!(
                    f,
                    "cannot connect to NATS at {addr}: {source} (is nats-server running?)"
                )
            }
            NatsError::Io(e) => write!(f, "NATS i/o error: {e}"),
            NatsError::Timeout { waiting_for, after } => {
                write!(f, "timed out after {after:?} waiting for {waiting_for}")
            }
            NatsError::Protocol(m) => write!(f, "NATS protocol error: {m}"),
            NatsError::Server(m) => write!(f, "NATS server error: {m}"),
            NatsError::Subject(e) => write!(f, "invalid subject: {e}"),
            NatsError::Closed => f.write_str("NATS server closed the connection"),
        }
    }
}

impl std::error::Error for NatsError {}

impl From<SubjectError> for NatsError {
    fn from(e: SubjectError) -> Self {
        NatsError::Subject(e)
    }
}

/// Parses one server operation from the front of `buf`.
///
/// Returns `Ok(None)` when `buf` does not yet hold a complete operation, or the
/// operation and the number of bytes it used.
pub fn parse_server_op(buf: &[u8]) -> Result<Option<(ServerOp, usize)>, NatsError> {
    let Some(line_end) = find_crlf(buf) else {
        return Ok(None);
    };
    let line = std::str::from_utf8(&buf[..line_end])
        .map_err(|_| NatsError::Protocol("control line is not UTF-8".into()))?;
    let after_line = line_end + 2;
    let (verb, rest) = match line.split_once(' ') {
        Some((v, r)) => (v, r.trim()),
        None => (line, ""),
    };
    let op = match verb.to_ascii_uppercase().as_str() {
        "PING" => ServerOp::Ping,
        "PONG" => ServerOp::Pong,
        "+OK" => ServerOp::Ok,
        "-ERR" => ServerOp::Err(rest.trim_matches('\'').to_owned()),
        "INFO" => ServerOp::Info(rest.to_owned()),
        "MSG" => return parse_msg(rest, buf, after_line),
        other => return Err(NatsError::Protocol(format!("unknown operation `{other}`"))),
    };
    Ok(Some((op, after_line)))
}

/// `MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n`
fn parse_msg(
    args: &str,
    buf: &[u8],
    payload_start: usize,
) -> Result<Option<(ServerOp, usize)>, NatsError> {
    let parts: Vec<&str> = args.split_whitespace().collect();
    let (subject, sid, reply_to, size) = match parts.as_slice() {
        [s, sid, size] => (*s, *sid, None, *size),
        [s, sid, reply, size] => (*s, *sid, Some((*reply).to_owned()), *size),
        _ => {
            return Err(NatsError::Protocol(format!(
                "malformed MSG arguments `{args}`"
            )))
        }
    };
    let sid: u64 = sid
        .parse()
        .map_err(|_| NatsError::Protocol(format!("bad sid `{sid}`")))?;
    let size: usize = size
        .parse()
        .map_err(|_| NatsError::Protocol(format!("bad payload size `{size}`")))?;
    let payload_end = payload_start + size;
    if buf.len() < payload_end + 2 {
        return Ok(None);
    }
    if &buf[payload_end..payload_end + 2] != b"\r\n" {
        return Err(NatsError::Protocol("payload not followed by CRLF".into()));
    }
    let msg = Message {
        subject: subject.to_owned(),
        sid,
        reply_to,
        payload: buf[payload_start..payload_end].to_vec(),
    };
    Ok(Some((ServerOp::Msg(msg), payload_end + 2)))
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Encodes `PUB <subject> [reply-to] <#bytes>\r\n<payload>\r\n`.
pub fn encode_pub(subject: &Subject, reply_to: Option<&Subject>, payload: &[u8]) -> Vec<u8> {
    let mut out = match reply_to {
        Some(r) => format!("PUB {subject} {r} {}\r\n", payload.len()),
        None => format!("PUB {subject} {}\r\n", payload.len()),
    }
    .into_bytes();
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    out
}

/// Encodes the `CONNECT` line. Verbose mode is off so the server does not
/// answer every operation with `+OK`.
pub fn encode_connect(client_name: &str) -> Vec<u8> {
    let name: String = client_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    format!(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"name\":\"{name}\",\"lang\":\"rust\",\"version\":\"{}\",\"protocol\":1,\"headers\":false}}\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `host:port` or `nats://host:port`.
    pub url: String,
    pub name: String,
    /// Deadline for connecting and for each request/flush.
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            url: "nats://127.0.0.1:4222".into(),
            name: "dynamo-runtime".into(),
            timeout: Duration::from_secs(2),
        }
    }
}

impl ConnectOptions {
    fn socket_addr(&self) -> Result<SocketAddr, NatsError> {
        let hostport = self.url.strip_prefix("nats://").unwrap_or(&self.url);
        let connect_err = |source| NatsError::Connect {
            addr: hostport.to_owned(),
            source,
        };
        hostport
            .to_socket_addrs()
            .map_err(connect_err)?
            .next()
            .ok_or_else(|| connect_err(io::Error::new(io::ErrorKind::NotFound, "no address")))
    }
}

/// A connected client. Not thread-safe; one per thread.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    pending: VecDeque<Message>,
    next_sid: u64,
    timeout: Duration,
    server_info: String,
}

impl Client {
    /// Connects, reads `INFO`, sends `CONNECT` and waits for the `PONG` that
    /// proves the server accepted it.
    pub fn connect(opts: &ConnectOptions) -> Result<Client, NatsError> {
        let addr = opts.socket_addr()?;
        let stream = TcpStream::connect_timeout(&addr, opts.timeout).map_err(|source| {
            NatsError::Connect {
                addr: addr.to_string(),
                source,
            }
        })?;
        stream.set_nodelay(true).map_err(NatsError::Io)?;
        stream
            .set_write_timeout(Some(opts.timeout))
            .map_err(NatsError::Io)?;
        let mut client = Client {
            stream,
            buf: Vec::with_capacity(4096),
            pending: VecDeque::new(),
            next_sid: 1,
            timeout: opts.timeout,
            server_info: String::new(),
        };
        let deadline = Instant::now() + opts.timeout;
        match client.read_op(deadline, "INFO")? {
            ServerOp::Info(info) => client.server_info = info,
            other => return Err(NatsError::Protocol(format!("expected INFO, got {other:?}"))),
        }
        client.write(&encode_connect(&opts.name))?;
        client.flush()?;
        Ok(client)
    }

    /// The JSON the server sent in `INFO`.
    pub fn server_info(&self) -> &str {
        &self.server_info
    }

    /// Subscribes and returns the subscription id.
    pub fn subscribe(&mut self, subject: &str) -> Result<u64, NatsError> {
        let subject = Subject::parse(subject)?;
        let sid = self.next_sid;
        self.next_sid += 1;
        self.write(format!("SUB {subject} {sid}\r\n").as_bytes())?;
        Ok(sid)
    }

    pub fn unsubscribe(&mut self, sid: u64) -> Result<(), NatsError> {
        self.write(format!("UNSUB {sid}\r\n").as_bytes())
    }

    pub fn publish(&mut self, subject: &str, payload: &[u8]) -> Result<(), NatsError> {
        let subject = Subject::parse_concrete(subject)?;
        self.write(&encode_pub(&subject, None, payload))
    }

    pub fn publish_with_reply(
        &mut self,
        subject: &str,
        reply_to: &str,
        payload: &[u8],
    ) -> Result<(), NatsError> {
        let subject = Subject::parse_concrete(subject)?;
        let reply = Subject::parse_concrete(reply_to)?;
        self.write(&encode_pub(&subject, Some(&reply), payload))
    }

    /// Round-trips a `PING` so that everything written before has been
    /// processed by the server. Messages that arrive meanwhile are queued.
    pub fn flush(&mut self) -> Result<(), NatsError> {
        self.write(b"PING\r\n")?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.read_op(deadline, "PONG")? {
                ServerOp::Pong => return Ok(()),
                ServerOp::Msg(m) => self.pending.push_back(m),
                ServerOp::Err(e) => return Err(NatsError::Server(e)),
                _ => {}
            }
        }
    }

    /// The next delivered message, waiting at most `timeout`.
    pub fn next_message(&mut self, timeout: Duration) -> Result<Message, NatsError> {
        if let Some(m) = self.pending.pop_front() {
            return Ok(m);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.read_op(deadline, "MSG")? {
                ServerOp::Msg(m) => return Ok(m),
                ServerOp::Err(e) => return Err(NatsError::Server(e)),
                _ => {}
            }
        }
    }

    /// Request/reply over a unique inbox subject.
    pub fn request(&mut self, subject: &str, payload: &[u8]) -> Result<Message, NatsError> {
        let inbox = format!("_INBOX.{}.{}", std::process::id(), self.next_sid);
        let sid = self.subscribe(&inbox)?;
        self.publish_with_reply(subject, &inbox, payload)?;
        let reply = self.next_message(self.timeout);
        self.unsubscribe(sid)?;
        reply
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), NatsError> {
        self.stream.write_all(bytes).map_err(NatsError::Io)
    }

    /// Reads one operation, answering server `PING`s on the way.
    fn read_op(
        &mut self,
        deadline: Instant,
        waiting_for: &'static str,
    ) -> Result<ServerOp, NatsError> {
        loop {
            if let Some((op, used)) = parse_server_op(&self.buf)? {
                self.buf.drain(..used);
                if op == ServerOp::Ping {
                    self.write(b"PONG\r\n")?;
                    continue;
                }
                return Ok(op);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.timeout_error(waiting_for));
            }
            self.stream
                .set_read_timeout(Some(deadline - now))
                .map_err(NatsError::Io)?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(NatsError::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(self.timeout_error(waiting_for));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(NatsError::Io(e)),
            }
        }
    }

    fn timeout_error(&self, waiting_for: &'static str) -> NatsError {
        NatsError::Timeout {
            waiting_for,
            after: self.timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ping_pong_ok() {
        assert_eq!(
            parse_server_op(b"PING\r\n").unwrap(),
            Some((ServerOp::Ping, 6))
        );
        assert_eq!(
            parse_server_op(b"PONG\r\nPING\r\n").unwrap(),
            Some((ServerOp::Pong, 6))
        );
        assert_eq!(
            parse_server_op(b"+OK\r\n").unwrap(),
            Some((ServerOp::Ok, 5))
        );
    }

    #[test]
    fn incomplete_input_asks_for_more() {
        assert_eq!(parse_server_op(b"PIN").unwrap(), None);
        assert_eq!(parse_server_op(b"MSG a.b 1 5\r\nhel").unwrap(), None);
    }

    #[test]
    fn parses_msg_with_and_without_reply() {
        let (op, used) = parse_server_op(b"MSG a.b 7 5\r\nhello\r\nPING\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(used, 20);
        assert_eq!(
            op,
            ServerOp::Msg(Message {
                subject: "a.b".into(),
                sid: 7,
                reply_to: None,
                payload: b"hello".to_vec(),
            })
        );
        let (op, _) = parse_server_op(b"MSG a 2 _INBOX.x 0\r\n\r\n")
            .unwrap()
            .unwrap();
        match op {
            ServerOp::Msg(m) => {
                assert_eq!(m.reply_to.as_deref(), Some("_INBOX.x"));
                assert!(m.payload.is_empty());
            }
            other => panic!("expected MSG, got {other:?}"),
        }
    }

    #[test]
    fn payload_may_contain_crlf() {
        let (op, used) = parse_server_op(b"MSG s 1 4\r\na\r\nb\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(used, 17);
        assert!(matches!(op, ServerOp::Msg(m) if m.payload == b"a\r\nb"));
    }

    #[test]
    fn server_error_text_is_unquoted() {
        let (op, _) = parse_server_op(b"-ERR 'Authorization Violation'\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(op, ServerOp::Err("Authorization Violation".into()));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(parse_server_op(b"BOGUS\r\n").is_err());
        assert!(parse_server_op(b"MSG a notanumber 3\r\nabc\r\n").is_err());
        assert!(parse_server_op(b"MSG a 1 3\r\nabcXY").is_err());
        assert!(parse_server_op(b"MSG onlysubject\r\n").is_err());
    }

    #[test]
    fn encodes_pub() {
        let s = Subject::parse_concrete("a.b").unwrap();
        assert_eq!(encode_pub(&s, None, b"hi"), b"PUB a.b 2\r\nhi\r\n");
        let r = Subject::parse_concrete("_INBOX.1").unwrap();
        assert_eq!(encode_pub(&s, Some(&r), b""), b"PUB a.b _INBOX.1 0\r\n\r\n");
    }

    #[test]
    fn connect_line_is_one_json_line_without_injection() {
        let line = String::from_utf8(encode_connect("bad\"name\r\n")).unwrap();
        assert!(line.starts_with("CONNECT {"));
        assert!(line.ends_with("}\r\n"));
        assert!(line.contains("\"name\":\"badname\""));
        assert_eq!(line.matches("\r\n").count(), 1);
    }

    #[test]
    fn unreachable_server_fails_fast_with_a_clear_error() {
        // Port 1 on loopback is closed on any sane machine: connection refused.
        let opts = ConnectOptions {
            url: "127.0.0.1:1".into(),
            timeout: Duration::from_millis(500),
            ..ConnectOptions::default()
        };
        let started = Instant::now();
        let err = Client::connect(&opts).err().expect("connect must fail");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            err.to_string()
                .contains("cannot connect to NATS at 127.0.0.1:1"),
            "{err}"
        );
    }
}
