//! Running the real `bearer` binary in a sealed environment: temporary config, cache and
//! temp directories, and no provider variables inherited from the machine.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bearer_testkit::Simulator;

/// One test's private home for `bearer`.
pub struct Sandbox {
    root: tempfile::TempDir,
}

/// What a run printed and how it exited.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts exit 0 and returns stdout without its final newline.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "bearer failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout.trim_end_matches('\n')
    }
}

impl Sandbox {
    pub fn new() -> Self {
        Self { root: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.path("cache/bearer")
    }

    /// The cache files, sorted.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(self.cache_dir()).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        files
    }

    /// Writes `$XDG_CONFIG_HOME/bearer/config.toml` with `mode`.
    pub fn write_config(&self, text: &str, mode: u32) -> PathBuf {
        let path = self.path("config/bearer/config.toml");
        write_file(&path, text, mode);
        path
    }

    /// `bearer ARGS` with the sandbox's environment plus `env`.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bearer"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root.path())
            .env("TMPDIR", self.root.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        Run::from(self.command(args, env).output().expect("run bearer"))
    }

    /// Runs with `input` on standard input.
    pub fn run_with_stdin(&self, args: &[&str], env: &[(&str, &str)], input: &str) -> Run {
        let mut child = self
            .command(args, env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bearer");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        Run::from(child.wait_with_output().expect("wait for bearer"))
    }
}

pub fn write_file(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Flags for the generic provider against an oauth2 simulator; the secret goes in the
/// environment, never on the command line.
pub fn oauth2_args(sim: &Simulator) -> Vec<String> {
    vec![
        "--token-url".into(),
        sim.token_url(),
        "--client-id".into(),
        sim.credentials().client_id.clone(),
        "--allow-http-loopback".into(),
    ]
}

/// `BEARER_CLIENT_SECRET`, the generic provider's secret variable.
pub fn oauth2_env(sim: &Simulator) -> Vec<(&'static str, String)> {
    vec![("BEARER_CLIENT_SECRET", sim.credentials().client_secret.clone())]
}

/// A provider's base-URL, client-id and client-secret variables (`names`, in that order),
/// pointing at the simulator, as its crate's `from_env()` reads them.
pub fn provider_env(sim: &Simulator, names: [&'static str; 3]) -> Vec<(&'static str, String)> {
    let c = sim.credentials();
    let [base_url, client_id, client_secret] = names;
    vec![(base_url, sim.base_url()), (client_id, c.client_id.clone()), (client_secret, c.client_secret.clone())]
}

/// Borrowed views for `Sandbox::run`.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

pub fn env_strs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    v.iter().map(|(k, val)| (*k, val.as_str())).collect()
}
