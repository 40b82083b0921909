//! `bearer curl`: the installed curl, with the header in a private config file.

use std::io::Write;
use std::process::{Command, ExitCode};

use crate::failure::Failure;
use crate::token_store::TokenRecord;

/// Runs `curl --config <0600 file> ARGS…`; the token is in the file, never on curl's command
/// line (which `ps` shows every user). The file is deleted when curl exits. Returns curl's
/// exit status.
pub(crate) fn run(record: &TokenRecord, args: &[String]) -> Result<ExitCode, Failure> {
    let fail = |e: std::io::Error| Failure::usage(format!("cannot write curl's config file: {e}"));
    // tempfile creates it readable by its owner only.
    let mut config = tempfile::Builder::new().prefix("bearer-curl-").tempfile().map_err(fail)?;
    writeln!(config, "header = \"Authorization: Bearer {}\"", quote(&record.access_token)).map_err(fail)?;
    config.flush().map_err(fail)?;
    let status = Command::new("curl").arg("--config").arg(config.path()).args(args).status().map_err(|e| {
        let failure = Failure::usage(format!("cannot run curl: {e}"));
        if e.kind() == std::io::ErrorKind::NotFound {
            failure.with_hint("install curl, or use `bearer header` with another client")
        } else {
            failure
        }
    })?;
    drop(config);
    let code = status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1);
    Ok(ExitCode::from(code))
}

/// Escapes a value for a double-quoted string in a curl config file.
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(super::quote(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
