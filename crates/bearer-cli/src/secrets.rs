//! Where a secret comes from: the profile file (only when private), an environment variable,
//! a file, a command, or standard input. Never a command-line argument, where `ps` shows it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::failure::Failure;

/// One way to get a secret. Resolved only when a token must be fetched, so a cache hit never
/// runs `client_secret_command`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum SecretSpec {
    /// Not configured: the provider's own environment variable, if any, applies.
    Unset,
    /// Written in the profile file (which is then refused unless private).
    Inline(String),
    /// An environment variable's name.
    Env(String),
    /// A file's path; the first line is the secret.
    File(PathBuf),
    /// A shell command whose standard output is the secret.
    Command(String),
    /// The first line of standard input (`--client-secret-stdin`).
    Stdin,
}

impl std::fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSpec::Unset => f.write_str("Unset"),
            SecretSpec::Inline(_) => f.write_str("Inline([redacted])"),
            SecretSpec::Env(name) => write!(f, "Env({name})"),
            SecretSpec::File(path) => write!(f, "File({})", path.display()),
            SecretSpec::Command(command) => write!(f, "Command({command})"),
            SecretSpec::Stdin => f.write_str("Stdin"),
        }
    }
}

impl SecretSpec {
    /// The spec from a profile's `KEY`, `KEY_env`, `KEY_file` and `KEY_command`; at most one.
    pub(crate) fn from_keys(
        key: &str,
        inline: Option<String>,
        env: Option<String>,
        file: Option<PathBuf>,
        command: Option<String>,
    ) -> Result<Self, Failure> {
        let given = [inline.is_some(), env.is_some(), file.is_some(), command.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(Failure::usage(format!("give only one of {key}, {key}_env, {key}_file, {key}_command")));
        }
        Ok(match (inline, env, file, command) {
            (Some(value), ..) => SecretSpec::Inline(value),
            (_, Some(name), ..) => SecretSpec::Env(name),
            (_, _, Some(path), _) => SecretSpec::File(path),
            (.., Some(command)) => SecretSpec::Command(command),
            _ => SecretSpec::Unset,
        })
    }

    /// The secret, or `None` when unset. `what` names it in messages.
    pub(crate) fn resolve(&self, what: &str) -> Result<Option<String>, Failure> {
        let value = match self {
            SecretSpec::Unset => return Ok(None),
            SecretSpec::Inline(value) => value.clone(),
            SecretSpec::Env(name) => std::env::var(name)
                .map_err(|_| Failure::usage(format!("{what}: environment variable {name} is not set")))?,
            SecretSpec::File(path) => {
                warn_if_shared(path);
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Failure::usage(format!("{what}: cannot read {}: {e}", path.display())))?;
                first_line(&text)
            }
            SecretSpec::Command(command) => run(command, what)?,
            SecretSpec::Stdin => {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| Failure::usage(format!("{what}: cannot read standard input: {e}")))?;
                first_line(&line)
            }
        };
        if value.is_empty() {
            return Err(Failure::usage(format!("{what} is empty")));
        }
        Ok(Some(value))
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim_end_matches('\r').to_owned()
}

/// Runs `sh -c command`; its stderr goes to ours (a password manager may prompt there).
fn run(command: &str, what: &str) -> Result<String, Failure> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Failure::usage(format!("{what}: cannot run `{command}`: {e}")))?;
    if !output.status.success() {
        return Err(Failure::usage(format!("{what}: `{command}` failed ({})", output.status)));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| Failure::usage(format!("{what}: `{command}` printed something that is not UTF-8")))?;
    Ok(first_line(&text))
}

#[cfg(unix)]
fn warn_if_shared(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o044 != 0 {
            eprintln!("warning: {} is readable by others; consider chmod 600", path.display());
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &std::path::Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_gives_its_first_line() {
        let spec = SecretSpec::Command("printf 's3cr3t\\nignored'".into());
        assert_eq!(spec.resolve("client secret").ok().flatten().as_deref(), Some("s3cr3t"));
    }

    #[test]
    fn a_failing_command_says_so_without_output() {
        let err =
            SecretSpec::Command("echo gdkkn | tr a-y b-z; exit 3".into()).resolve("client secret").expect_err("fails");
        assert!(err.message.contains("failed"), "{}", err.message);
        assert!(!err.message.contains("hello"), "the command's output stays out of the message");
    }

    #[test]
    fn only_one_source_per_secret_and_debug_is_redacted() {
        assert!(SecretSpec::from_keys("client_secret", Some("a".into()), Some("B".into()), None, None).is_err());
        let inline = SecretSpec::from_keys("client_secret", Some("hunter2".into()), None, None, None).expect("spec");
        assert!(!format!("{inline:?}").contains("hunter2"));
    }
}
