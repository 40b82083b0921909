//! Real `redis-server` processes for tests: one server, or a 3-master Redis Cluster, each on
//! free loopback ports with persistence off, killed when dropped.
//!
//! The tests need the `redis-server` and `redis-cli` binaries (Debian: `apt-get install -y
//! redis-server`; `.ci/run` installs it). Without them, starting panics with that advice
//! rather than letting a test pass without Redis. `REDIS_SERVER` and `REDIS_CLI` override the
//! binaries' paths.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `PING`.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// One `redis-server` on `127.0.0.1`, persistence off. Dropping it kills it.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers.
    ///
    /// # Panics
    /// If `redis-server` is not installed or does not start: the tests cannot run then.
    pub fn start() -> RedisServer {
        Self::start_with(Vec::new())
    }

    fn start_with(extra: Vec<String>) -> RedisServer {
        for _ in 0..5 {
            let port = free_port_pair();
            let dir = scratch_dir(port);
            let mut server = RedisServer { port, dir, extra: extra.clone(), child: None };
            if server.launch() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server at once (SIGKILL): clients see their connections drop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (nothing was persisted).
    ///
    /// # Panics
    /// If it does not come back within a few seconds.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + START_DEADLINE;
        while !self.launch() {
            assert!(Instant::now() < deadline, "redis-server did not restart on port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one command and returns the raw reply (a short RESP answer), for readiness checks
    /// and cluster setup; tests use a real client for anything else.
    pub fn raw_command(&self, args: &[&str]) -> std::io::Result<String> {
        raw_command(self.port, args)
    }

    /// Spawns the process and waits for `PONG`; false if it exited (port taken) or never
    /// answered.
    fn launch(&mut self) -> bool {
        let _ = std::fs::create_dir_all(&self.dir);
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut command = Command::new(&binary);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!("{}", missing(&binary)),
            Err(error) => panic!("could not start {binary}: {error}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + START_DEADLINE;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if raw_command(self.port, &["PING"]).is_ok_and(|reply| reply.starts_with("+PONG")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of 3 masters (no replicas) on loopback, made with
/// `redis-cli --cluster create`. Dropping it kills every node.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts 3 cluster-enabled servers, joins them and waits for `cluster_state:ok`.
    ///
    /// # Panics
    /// If `redis-server` or `redis-cli` is missing or the cluster does not form.
    pub fn start() -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| {
                RedisServer::start_with(vec![
                    "--cluster-enabled".into(),
                    "yes".into(),
                    "--cluster-node-timeout".into(),
                    "2000".into(),
                ])
            })
            .collect();
        let cli = std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into());
        let mut create = Command::new(&cli);
        create.args(["--cluster", "create"]);
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        create.args(["--cluster-replicas", "0", "--cluster-yes"]).stdin(Stdio::null());
        let output = match create.output() {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!("{}", missing(&cli)),
            Err(error) => panic!("could not run {cli}: {error}"),
        };
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = RedisCluster { nodes };
        let deadline = Instant::now() + START_DEADLINE;
        while !cluster
            .nodes
            .iter()
            .all(|n| n.raw_command(&["CLUSTER", "INFO"]).is_ok_and(|info| info.contains("cluster_state:ok")))
        {
            assert!(Instant::now() < deadline, "the Redis Cluster did not reach cluster_state:ok");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    /// `redis://127.0.0.1:<port>` of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }
}

fn missing(binary: &str) -> String {
    format!(
        "`{binary}` is not installed, and the Redis tests start their own servers: install it \
         (`apt-get install -y redis-server` on Debian/Ubuntu; `.ci/run` does) or point \
         REDIS_SERVER / REDIS_CLI at the binaries"
    )
}

/// A port `p` with `p` and `p + 10000` (the cluster bus) both free, from 20000..30000.
fn free_port_pair() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id().wrapping_mul(7919).wrapping_add(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0),
    );
    for _ in 0..1000 {
        let n = seed.wrapping_add(NEXT.fetch_add(7, Ordering::Relaxed));
        let port = 20000 + (n % 10000) as u16;
        let free = |p: u16| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, p))).is_ok();
        if free(port) && free(port + 10000) {
            return port;
        }
    }
    panic!("no free loopback port pair in 20000..40000");
}

fn scratch_dir(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("bearer-testkit-redis-{}-{port}", std::process::id()))
}

fn raw_command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reply = vec![0u8; 8192];
    let read = stream.read(&mut reply)?;
    Ok(String::from_utf8_lossy(&reply[..read]).into_owned())
}
