//! What the HTTP benchmarks share: a keep-alive client that speaks enough HTTP/1.1 for the
//! server's own answers, a bounded load loop with its latencies, tokens, and the smoke mode
//! `cargo test` runs them in. Each benchmark uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use steward_app::core::Role;
use steward_app::{NewToken, Steward};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One keep-alive HTTP/1.1 connection; enough of the protocol for the server's own answers.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub async fn open(addr: &str) -> BenchResult<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    pub async fn send(&mut self, request: &[u8]) -> BenchResult<u16> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])?;
                let status: u16 = head.split(' ').nth(1).ok_or("no status")?.parse()?;
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + length {
                    let n = self.stream.read(&mut chunk).await?;
                    if n == 0 {
                        return Err("connection closed mid-body".into());
                    }
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                self.buf.drain(..end + 4);
                self.buf.truncate(length);
                return Ok(status);
            }
        }
    }

    /// The body of the last answer.
    pub fn body(&self) -> &[u8] {
        &self.buf
    }
}

pub struct Outcome {
    pub requests: usize,
    pub errors: usize,
    pub seconds: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Runs `connections` workers for `duration`, each sending the request `make(i)` builds;
/// worker `n` talks to `addrs[n % addrs.len()]`, as a round-robin balancer would spread them.
pub async fn load(
    addrs: &[String],
    connections: usize,
    duration: Duration,
    make: Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>,
    expect: u16,
) -> BenchResult<Outcome> {
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..connections {
        let addr = addrs[n % addrs.len()].clone();
        let (make, counter) = (make.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut latencies = Vec::new();
            let mut errors = 0;
            while started.elapsed() < duration {
                let request = make(counter.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                let status = conn.send(&request).await?;
                latencies.push(t.elapsed());
                if status != expect {
                    errors += 1;
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((latencies, errors))
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        all.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(Outcome {
        requests: all.len(),
        errors,
        seconds,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}

pub async fn bench_token(
    app: &Steward,
    setup: &steward_app::Actor,
    role: Role,
    purpose: &str,
) -> BenchResult<String> {
    Ok(app
        .accounts()
        .create_token(
            setup,
            NewToken {
                name: format!("bench-{}", role.as_str()),
                role,
                purposes: vec![purpose.into()],
                expires_at: None,
            },
        )
        .await?
        .1)
}

pub fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

pub fn seconds_arg() -> u64 {
    if smoke() {
        return 1;
    }
    std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5)
}
