//! A real SMTP server on loopback: aiosmtpd (Debian's `python3-aiosmtpd`, which the test
//! command installs), storing each message it accepts in a Maildir.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The interpreter Debian's package installs into; not whichever `python3` is first on PATH.
const PYTHON: &str = "/usr/bin/python3";

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    maildir: tempfile::TempDir,
}

/// One received message, its headers unfolded and its body decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first link in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.body.find(prefix)?;
        let rest = &self.body[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        Some(rest[..end].to_string())
    }
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start aiosmtpd ({e}): install python3-aiosmtpd, or run scripts/test")
            });
        let mut server = SmtpServer {
            port,
            child,
            maildir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited at start ({status}): is python3-aiosmtpd installed?");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn maildir_new(&self) -> PathBuf {
        self.maildir.path().join("mail").join("new")
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<(std::time::SystemTime, String, PathBuf)> =
            match std::fs::read_dir(self.maildir_new()) {
                Ok(dir) => dir
                    .flatten()
                    .map(|e| {
                        let modified = e
                            .metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH);
                        (
                            modified,
                            e.file_name().to_string_lossy().into_owned(),
                            e.path(),
                        )
                    })
                    .collect(),
                Err(_) => Vec::new(),
            };
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, _, path)| std::fs::read_to_string(path).ok())
            .map(|raw| parse(&raw))
            .collect()
    }

    /// Waits (boundedly) until at least `n` messages have arrived, and returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, the SMTP server received {}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Messages addressed to `to`.
    pub fn messages_to(&self, to: &str) -> Vec<ReceivedMail> {
        self.messages()
            .into_iter()
            .filter(|m| m.header("X-RcptTo").is_some_and(|r| r.contains(to)))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(raw: &str) -> ReceivedMail {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let quoted_printable = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("Content-Transfer-Encoding")
            && v.eq_ignore_ascii_case("quoted-printable")
    });
    let body = if quoted_printable {
        decode_quoted_printable(body)
    } else {
        body.to_string()
    };
    ReceivedMail { headers, body }
}

/// RFC 2045 quoted-printable: soft line breaks and `=XX` escapes.
fn decode_quoted_printable(text: &str) -> String {
    let bytes = text.replace("=\n", "").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_soft_breaks_and_escapes_decode() {
        assert_eq!(
            decode_quoted_printable("http://x/a=3Db=\nc d=C3=A9"),
            "http://x/a=bc dé"
        );
    }
}
