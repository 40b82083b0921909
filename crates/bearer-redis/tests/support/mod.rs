//! What the Redis tests share: a fleet of real worker processes (this test binary run again
//! with `BEARER_REDIS_WORKER` set), the source each of them builds, and reading their reports.
#![allow(dead_code, unreachable_pub, unused_macros)]

pub mod scenarios;
pub mod worker;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bearer_testkit::Simulator;

pub const WORKER_ENV: &str = "BEARER_REDIS_WORKER";

/// Defines `fleet_worker`, the entry of a worker process, in a test binary that spawns them
/// (each test binary needs its own). It runs only when a test spawned the binary as a worker.
macro_rules! fleet_worker_entry {
    () => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "a worker process of the fleet tests, spawned by them"]
        async fn fleet_worker() {
            if std::env::var(support::WORKER_ENV).is_ok() {
                support::worker::run().await;
            }
        }
    };
}

/// The shared source of one process for `sim`, on the Redis at `redis_url`, sealing with
/// [`TEST_KEY`]: what the in-process tests build.
pub fn sim_source(
    sim: &bearer_testkit::Simulator,
    redis_url: &str,
    timeout: Duration,
) -> bearer_redis::SharedTokenSource<bearer_oauth2::OAuth2TokenSource> {
    sim_source_with_key(sim, redis_url, TEST_KEY, timeout)
}

/// [`sim_source`] with another key (64 hex characters, or `plain`).
pub fn sim_source_with_key(
    sim: &bearer_testkit::Simulator,
    redis_url: &str,
    key: &str,
    timeout: Duration,
) -> bearer_redis::SharedTokenSource<bearer_oauth2::OAuth2TokenSource> {
    let creds = sim.credentials();
    worker::shared_source(
        &sim.token_url(),
        &creds.client_id,
        &creds.client_secret,
        redis_url,
        key,
        Duration::from_secs(5),
        timeout,
    )
}

/// The encryption key of the tests, as 64 hex characters.
pub const TEST_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// How long a worker may take to report.
pub const REPORT_DEADLINE: Duration = Duration::from_secs(20);

/// Where the fleet's Redis is: `redis://…` or `cluster:` and a comma-separated node list.
#[derive(Debug, Clone)]
pub struct RedisSpec(pub String);

impl RedisSpec {
    pub fn server(url: String) -> Self {
        Self(url)
    }

    pub fn cluster(urls: &[String]) -> Self {
        Self(format!("cluster:{}", urls.join(",")))
    }
}

/// How one worker process runs.
#[derive(Debug, Clone)]
pub struct WorkerPlan {
    pub redis: RedisSpec,
    pub shared: bool,
    /// `steady`, `burst` or `once`.
    pub mode: &'static str,
    pub lease: Duration,
    pub redis_timeout: Duration,
    /// Steady traffic: from this wall-clock instant (unix ms)...
    pub start_at_ms: u64,
    /// ...until this one.
    pub stop_at_ms: u64,
    /// Burst: concurrent requests after `GO`.
    pub burst: usize,
    /// 64 hex characters, or `plain`.
    pub key: String,
}

impl WorkerPlan {
    pub fn new(redis: RedisSpec, mode: &'static str) -> Self {
        Self {
            redis,
            shared: true,
            mode,
            lease: Duration::from_secs(5),
            redis_timeout: Duration::from_secs(2),
            start_at_ms: 0,
            stop_at_ms: 0,
            burst: 0,
            key: "11".repeat(32),
        }
    }
}

/// A worker process; killed when dropped.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

/// What a worker printed on its `RESULT` line.
#[derive(Debug, Clone, Default)]
pub struct Report(pub HashMap<String, u64>);

impl Report {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }
}

/// Runs this test binary again as a worker of `plan` against `sim`.
pub fn spawn_worker(test_name: &str, sim: &Simulator, plan: &WorkerPlan) -> Worker {
    let exe = std::env::current_exe().expect("the test binary's path");
    let creds = sim.credentials();
    let mut child = Command::new(exe)
        .args([test_name, "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(WORKER_ENV, "1")
        .env("W_TOKEN_URL", sim.token_url())
        .env("W_API_URL", sim.api_url())
        .env("W_CLIENT_ID", &creds.client_id)
        .env("W_CLIENT_SECRET", &creds.client_secret)
        .env("W_REDIS", &plan.redis.0)
        .env("W_SHARED", if plan.shared { "1" } else { "0" })
        .env("W_MODE", plan.mode)
        .env("W_LEASE_MS", plan.lease.as_millis().to_string())
        .env("W_TIMEOUT_MS", plan.redis_timeout.as_millis().to_string())
        .env("W_START_AT", plan.start_at_ms.to_string())
        .env("W_STOP_AT", plan.stop_at_ms.to_string())
        .env("W_BURST", plan.burst.to_string())
        .env("W_KEY", &plan.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn a worker process");
    let stdout = child.stdout.take().expect("piped stdout");
    let stdin = child.stdin.take();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    Worker { child, stdin, lines }
}

impl Worker {
    /// Waits (bounded) for a line holding `prefix` and returns it from there (libtest may print
    /// `test name ... ` in front of a worker's first line); panics at the deadline.
    pub fn wait_line(&self, prefix: &str, deadline: Duration) -> String {
        let until = Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find(prefix) {
                        return line[at..].to_owned();
                    }
                }
                Err(_) => panic!("no `{prefix}` line from the worker within {deadline:?} (or it exited)"),
            }
        }
    }

    /// Sends one line on the worker's stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("write to the worker");
        stdin.flush().expect("flush");
    }

    /// Waits for the `RESULT` line and parses it.
    pub fn report(&self, deadline: Duration) -> Report {
        let line = self.wait_line("RESULT", deadline);
        let fields = line
            .split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
            .collect();
        Report(fields)
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Wall-clock unix milliseconds, for instants shared with the workers.
pub fn unix_ms_in(after: Duration) -> u64 {
    let at = std::time::SystemTime::now() + after;
    at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Polls `condition` every 20 ms until it holds; panics with `what` at the deadline.
pub async fn wait_until(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let until = tokio::time::Instant::now() + deadline;
    while !condition() {
        assert!(tokio::time::Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads every worker's report (the blocking reads run off the runtime, so the simulator
/// keeps serving).
pub async fn reports(workers: Vec<Worker>, deadline: Duration) -> Vec<Report> {
    tokio::task::spawn_blocking(move || workers.iter().map(|w| w.report(deadline)).collect())
        .await
        .expect("the report reader")
}

/// Sums one field over reports.
pub fn total(reports: &[Report], name: &str) -> u64 {
    reports.iter().map(|r| r.get(name)).sum()
}

/// Log lines written while the returned guard lives (every level, this thread only).
pub struct CapturedLogs {
    buffer: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedLogs {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

#[derive(Clone)]
struct BufferWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every `tracing` event of the current thread (use a current-thread runtime).
pub fn capture_logs() -> CapturedLogs {
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = BufferWriter(std::sync::Arc::clone(&buffer));
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    CapturedLogs { buffer, _guard: tracing::subscriber::set_default(subscriber) }
}
