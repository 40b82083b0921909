//! Profiles: the TOML file, its permissions, and the settings a command runs with
//! (the profile's, overridden by flags).
//!
//! ```toml
//! default_profile = "acme"
//!
//! [profiles.acme]
//! provider = "oauth2"
//! token_url = "https://auth.acme.example/oauth/token"
//! client_id = "cli"
//! client_secret_command = "pass show acme/api"
//! scope = "read"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{ClientAuthName, GrantName, Provider, SourceArgs};
use crate::failure::Failure;
use crate::secrets::SecretSpec;

/// The profiles file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile as written in the file; every key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    provider: Option<Provider>,
    token_url: Option<String>,
    base_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    client_secret_file: Option<PathBuf>,
    client_secret_command: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    password_command: Option<String>,
    scope: Option<String>,
    audience: Option<String>,
    grant: Option<GrantName>,
    client_auth: Option<ClientAuthName>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    introspection_url: Option<String>,
    allow_http_loopback: Option<bool>,
}

/// Everything a command needs to know about where its token comes from.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The profile's name (`default` without one): names the cache files.
    pub(crate) profile: String,
    pub(crate) provider: Provider,
    pub(crate) token_url: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) grant: Option<GrantName>,
    pub(crate) client_auth: Option<ClientAuthName>,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) introspection_url: Option<String>,
    pub(crate) allow_http_loopback: bool,
    pub(crate) client_secret: SecretSpec,
    pub(crate) password: SecretSpec,
}

/// `$XDG_CONFIG_HOME/bearer/config.toml`, else `~/.config/bearer/config.toml`.
fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("bearer").join("config.toml"))
}

/// The settings for this invocation: the selected profile (if any) under the flags.
pub(crate) fn settings(args: &SourceArgs) -> Result<Settings, Failure> {
    let (file, explicit) = match &args.config {
        Some(path) => (Some(path.clone()), true),
        None => (default_config_path(), false),
    };
    let config = match file {
        Some(path) if explicit || path.exists() => load(&path)?,
        _ => ConfigFile::default(),
    };
    let chosen = args
        .profile
        .clone()
        .or_else(|| std::env::var("BEARER_PROFILE").ok().filter(|p| !p.is_empty()))
        .or_else(|| config.default_profile.clone());
    let (name, profile) = match chosen {
        Some(name) => {
            check_profile_name(&name)?;
            let profile = config.profiles.get(&name).cloned().ok_or_else(|| {
                Failure::usage(format!("no profile `{name}` in the config file"))
                    .with_hint("add a [profiles.NAME] table, or check --config and --profile")
            })?;
            (name, profile)
        }
        None => ("default".to_owned(), Profile::default()),
    };
    merge(name, profile, args)
}

/// Profile names become file names in the cache.
fn check_profile_name(name: &str) -> Result<(), Failure> {
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!("invalid profile name `{name}`: use letters, digits, `-` and `_`")))
    }
}

fn merge(profile: String, file: Profile, args: &SourceArgs) -> Result<Settings, Failure> {
    let mut params = file.params;
    if let Some(audience) = args.audience.clone().or(file.audience) {
        params.insert("audience".into(), audience);
    }
    params.extend(args.params.iter().cloned());
    let client_secret = if args.client_secret_stdin {
        SecretSpec::Stdin
    } else {
        SecretSpec::from_keys(
            "client_secret",
            file.client_secret,
            file.client_secret_env,
            file.client_secret_file,
            file.client_secret_command,
        )?
    };
    let password =
        SecretSpec::from_keys("password", file.password, file.password_env, file.password_file, file.password_command)?;
    Ok(Settings {
        profile,
        provider: args.provider.or(file.provider).unwrap_or(Provider::OAuth2),
        token_url: args.token_url.clone().or(file.token_url),
        base_url: args.base_url.clone().or(file.base_url),
        client_id: args.client_id.clone().or(file.client_id),
        username: args.username.clone().or(file.username),
        scope: args.scope.clone().or(file.scope),
        grant: args.grant.or(file.grant),
        client_auth: args.client_auth.or(file.client_auth),
        params,
        introspection_url: args.introspection_url.clone().or(file.introspection_url),
        allow_http_loopback: args.allow_http_loopback || file.allow_http_loopback.unwrap_or(false),
        client_secret,
        password,
    })
}

/// Reads and parses the file, refusing it (as ssh does) when others could change it, or
/// when it holds a secret that others could read.
fn load(path: &Path) -> Result<ConfigFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the config file {}: {e}", path.display())))?;
    let config: ConfigFile =
        toml::from_str(&text).map_err(|e| Failure::usage(format!("invalid config file {}: {e}", path.display())))?;
    let holds_secret = config.profiles.values().any(|p| p.client_secret.is_some() || p.password.is_some());
    check_permissions(path, holds_secret)?;
    Ok(config)
}

#[cfg(unix)]
fn check_permissions(path: &Path, holds_secret: bool) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| Failure::usage(format!("cannot read the config file {}: {e}", path.display())))?
        .permissions()
        .mode();
    let fix = format!("chmod 600 {}", path.display());
    if mode & 0o022 != 0 {
        return Err(Failure::usage(format!(
            "{} is writable by others (mode {:o}): refusing it, since it can name commands to run",
            path.display(),
            mode & 0o777
        ))
        .with_hint(fix));
    }
    if holds_secret && mode & 0o044 != 0 {
        return Err(Failure::usage(format!(
            "{} holds a secret and is readable by others (mode {:o}): refusing it",
            path.display(),
            mode & 0o777
        ))
        .with_hint(format!("{fix}, or move the secret to client_secret_env / _file / _command")));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _holds_secret: bool) -> Result<(), Failure> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_profile() {
        let profile: Profile = toml::from_str(
            "provider = \"zuora\"\nclient_id = \"from-file\"\nscope = \"a\"\nparams = { resource = \"r\" }",
        )
        .expect("profile");
        let args =
            SourceArgs { client_id: Some("from-flag".into()), audience: Some("aud".into()), ..Default::default() };
        let settings = merge("p".into(), profile, &args).expect("settings");
        assert_eq!(settings.provider, Provider::Zuora);
        assert_eq!(settings.client_id.as_deref(), Some("from-flag"));
        assert_eq!(settings.scope.as_deref(), Some("a"));
        assert_eq!(settings.params.get("audience").map(String::as_str), Some("aud"));
        assert_eq!(settings.params.get("resource").map(String::as_str), Some("r"));
    }

    #[test]
    fn unknown_keys_and_providers_are_refused() {
        assert!(toml::from_str::<ConfigFile>("[profiles.a]\nclient_sekret = \"x\"").is_err());
        assert!(toml::from_str::<ConfigFile>("[profiles.a]\nprovider = \"okta\"").is_err());
    }

    #[test]
    fn profile_names_are_file_safe() {
        assert!(check_profile_name("acme-prod_2").is_ok());
        for bad in ["", "../x", "a b", "a/b"] {
            assert!(check_profile_name(bad).is_err(), "{bad}");
        }
    }
}
