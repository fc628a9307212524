//! A real SMTP server on loopback that keeps what it is sent: enough of RFC 5321 (EHLO,
//! AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for the server's SMTP client, with
//! no TLS. Tests read the messages it received as they arrive.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The user name of a successful AUTH, if any.
    pub auth_user: Option<String>,
    /// Headers and body as sent (dot-stuffing undone).
    pub data: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The body, with its transfer encoding undone.
    pub fn text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        match self
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "quoted-printable" => quoted_printable(body),
            "base64" => {
                let joined: String = body.split_whitespace().collect();
                String::from_utf8(STANDARD.decode(joined).expect("base64 body")).expect("utf-8")
            }
            _ => body.to_owned(),
        }
    }

    /// The path and query of the first link in the body under `path` on the server.
    pub fn link(&self, path: &str) -> Option<String> {
        let text = self.text();
        let at = text.find(&format!("{path}?"))?;
        let end = text[at..]
            .find(|c: char| c.is_whitespace())
            .map_or(text.len(), |e| at + e);
        Some(text[at..end].to_owned())
    }
}

fn quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = joined.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 body")
}

pub struct SmtpSink {
    pub port: u16,
    inbox: Mutex<mpsc::UnboundedReceiver<Received>>,
    count: Arc<AtomicUsize>,
    /// Connections the sink has accepted (a `config check` connects and sends nothing).
    pub connections: Arc<AtomicUsize>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let (tx, rx) = mpsc::unbounded_channel();
        let count = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (c, n) = (count.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                n.fetch_add(1, Ordering::SeqCst);
                let (tx, c) = (tx.clone(), c.clone());
                tokio::spawn(async move {
                    let _ = session(stream, tx, c).await;
                });
            }
        });
        Self {
            port,
            inbox: Mutex::new(rx),
            count,
            connections,
        }
    }

    /// `smtp_url` for this sink (no TLS).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The next message, waiting for it to arrive (at most 10 s: a message that never comes
    /// fails the test rather than hanging it).
    pub async fn next(&self) -> Received {
        let mut inbox = self.inbox.lock().await;
        tokio::time::timeout(Duration::from_secs(10), inbox.recv())
            .await
            .expect("a mail arrives")
            .expect("sink running")
    }

    /// How many messages were accepted so far.
    pub fn received(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

async fn session(
    stream: tokio::net::TcpStream,
    tx: mpsc::UnboundedSender<Received>,
    count: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to, mut auth_user) = (String::new(), Vec::new(), None);
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            let mut arg = cmd[10..].trim().to_owned();
            if arg.is_empty() {
                write.write_all(b"334 \r\n").await?;
                line.clear();
                lines.read_line(&mut line).await?;
                arg = line.trim().to_owned();
            }
            let raw = STANDARD.decode(arg).unwrap_or_default();
            let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            auth_user = parts
                .get(1)
                .map(|u| String::from_utf8_lossy(u).into_owned());
            b"235 2.7.0 accepted\r\n"
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            line.clear();
            lines.read_line(&mut line).await?;
            let user = STANDARD.decode(line.trim()).unwrap_or_default();
            auth_user = Some(String::from_utf8_lossy(&user).into_owned());
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            line.clear();
            lines.read_line(&mut line).await?;
            b"235 2.7.0 accepted\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().to_owned();
            to.clear();
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(
                cmd[8..]
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned(),
            );
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            count.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                auth_user: auth_user.clone(),
                data,
            });
            b"250 2.0.0 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
