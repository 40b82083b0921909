//! The one module that knows the library's provider APIs: it turns [`Settings`] into a
//! [`TokenSource`].
//!
//! Each provider is built by its crate's `from_env_with`, so it reads the variables its
//! `from_env()` documents; the CLI answers each of those names from the flags and profile
//! first, then from the process environment. The generic provider's variables are the CLI's own
//! (`BEARER_TOKEN_URL`, `BEARER_CLIENT_ID`, `BEARER_CLIENT_SECRET`, `BEARER_USERNAME`,
//! `BEARER_PASSWORD`).

use std::collections::BTreeMap;

use bearer_akeneo::AkeneoTokenSource;
use bearer_core::TokenSource;
use bearer_criteo::CriteoTokenSource;
use bearer_ixapi::IxApiTokenSource;
use bearer_oauth2::provider_kit::check_endpoint;
use bearer_oauth2::{ClientAuth, Grant, OAuth2TokenSource};
use bearer_zenkipay::ZenkipayTokenSource;
use bearer_zuora::ZuoraTokenSource;

use crate::cli::{ClientAuthName, GrantName, Provider};
use crate::config::Settings;
use crate::failure::{Failure, Kind};

/// The environment variables a provider reads, by role.
struct EnvNames {
    base_url: &'static str,
    client_id: &'static str,
    client_secret: &'static str,
    username: &'static str,
    password: &'static str,
    /// The provider's `<PROVIDER>_ALLOW_HTTP_LOOPBACK` (the generic provider has none: its
    /// builder is called directly).
    allow_http_loopback: Option<&'static str>,
    /// Further non-secret variables that change the token request.
    extra: &'static [&'static str],
}

fn env_names(provider: Provider) -> EnvNames {
    let names = |base_url, client_id, client_secret, allow_http_loopback, extra| EnvNames {
        base_url,
        client_id,
        client_secret,
        username: "BEARER_USERNAME",
        password: "BEARER_PASSWORD",
        allow_http_loopback: Some(allow_http_loopback),
        extra,
    };
    match provider {
        Provider::OAuth2 => EnvNames {
            allow_http_loopback: None,
            ..names("BEARER_TOKEN_URL", "BEARER_CLIENT_ID", "BEARER_CLIENT_SECRET", "", &[])
        },
        Provider::Zuora => names(
            "ZUORA_ENVIRONMENT",
            "ZUORA_CLIENT_ID",
            "ZUORA_CLIENT_SECRET",
            "ZUORA_ALLOW_HTTP_LOOPBACK",
            &["ZUORA_TRACK_ID", "ZUORA_VERSION", "ZUORA_ORG_IDS", "ZUORA_ENTITY_IDS"],
        ),
        Provider::Criteo => {
            names("CRITEO_BASE_URL", "CRITEO_CLIENT_ID", "CRITEO_CLIENT_SECRET", "CRITEO_ALLOW_HTTP_LOOPBACK", &[])
        }
        Provider::Akeneo => EnvNames {
            username: "AKENEO_USERNAME",
            password: "AKENEO_PASSWORD",
            ..names("AKENEO_BASE_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_ALLOW_HTTP_LOOPBACK", &[])
        },
        Provider::Zenkipay => names(
            "ZENKIPAY_BASE_URL",
            "ZENKIPAY_CLIENT_ID",
            "ZENKIPAY_CLIENT_SECRET",
            "ZENKIPAY_ALLOW_HTTP_LOOPBACK",
            &[],
        ),
        Provider::Ixapi => {
            names("IXAPI_BASE_URL", "IXAPI_API_KEY", "IXAPI_API_SECRET", "IXAPI_ALLOW_HTTP_LOOPBACK", &[])
        }
    }
}

/// Where variables not given by a flag or the profile are read: the process environment, or
/// a map in a test.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A provider's variables with the flags and profile laid over the environment.
struct Variables(BTreeMap<&'static str, String>);

impl Variables {
    /// The non-secret variables that change the token request; secrets and the http opt-in
    /// are added by [`for_build`](Self::for_build).
    fn public(settings: &Settings, env: Env<'_>) -> Self {
        let names = env_names(settings.provider);
        let url = match settings.provider {
            Provider::OAuth2 => settings.token_url.clone(),
            _ => settings.base_url.clone(),
        };
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut map = BTreeMap::new();
        let given = [
            (names.base_url, url),
            (names.client_id, settings.client_id.clone()),
            (names.username, settings.username.clone()),
        ];
        for (name, value) in given {
            if let Some(value) = value.or_else(|| env(name)) {
                map.insert(name, value);
            }
        }
        for name in names.extra {
            if let Some(value) = env(name) {
                map.insert(name, value);
            }
        }
        Self(map)
    }

    /// Everything a provider's `from_env_with` reads: the public variables, the client secret
    /// and password (from the settings when configured there, else from the provider's own
    /// variables), and `--allow-http-loopback` as the provider's `_ALLOW_HTTP_LOOPBACK`.
    fn for_build(settings: &Settings, env: Env<'_>) -> Result<Self, Failure> {
        let mut vars = Self::public(settings, env);
        let names = env_names(settings.provider);
        for (name, spec, what) in [
            (names.client_secret, &settings.client_secret, "the client secret"),
            (names.password, &settings.password, "the password"),
        ] {
            if let Some(value) = spec.resolve(what)?.or_else(|| env(name)) {
                vars.0.insert(name, value);
            }
        }
        if let Some(name) = names.allow_http_loopback {
            let allowed = if settings.allow_http_loopback { Some("true".to_owned()) } else { env(name) };
            vars.0.extend(allowed.map(|value| (name, value)));
        }
        Ok(vars)
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn required(&self, name: &str) -> Result<String, Failure> {
        self.get(name).ok_or_else(|| {
            Failure::usage(format!("{name} is not set"))
                .with_hint("set it in the environment, in the profile, or with the matching flag (see bearer --help)")
        })
    }
}

/// What identifies the tokens these settings get, for the cache key: every setting that
/// changes the token request, and no secret.
pub(crate) fn identity(settings: &Settings) -> String {
    let mut parts = vec![format!("provider={}", settings.provider.name())];
    parts.extend(Variables::public(settings, &process_env).0.iter().map(|(name, value)| format!("{name}={value}")));
    parts.extend(settings.scope.iter().map(|s| format!("scope={s}")));
    parts.extend(settings.grant.iter().map(|g| format!("grant={g:?}")));
    parts.extend(settings.client_auth.iter().map(|a| format!("client_auth={a:?}")));
    parts.extend(settings.params.iter().map(|(name, value)| format!("param:{name}={value}")));
    parts.join("\n")
}

/// The URL tokens are requested from (or the provider's base URL), for messages and checks.
pub(crate) fn endpoint(settings: &Settings) -> Option<String> {
    Variables::public(settings, &process_env).get(env_names(settings.provider).base_url)
}

/// The client id and secret, for introspection requests. Resolves the secret.
pub(crate) fn client_credentials(settings: &Settings) -> Result<(Option<String>, Option<String>), Failure> {
    let names = env_names(settings.provider);
    let vars = Variables::for_build(settings, &process_env)?;
    Ok((vars.get(names.client_id), vars.get(names.client_secret)))
}

/// Builds the token source, resolving secrets (running `client_secret_command` if set).
/// Does no network I/O.
pub(crate) fn build(settings: &Settings) -> Result<Box<dyn TokenSource>, Failure> {
    build_with(settings, &process_env)
}

/// [`build`], reading unset variables through `env`. Each provider is built by its crate's
/// own `from_env_with`, so the CLI reads exactly the variables the crate documents.
fn build_with(settings: &Settings, env: Env<'_>) -> Result<Box<dyn TokenSource>, Failure> {
    check_generic_options(settings)?;
    let vars = Variables::for_build(settings, env)?;
    let names = env_names(settings.provider);
    let lookup = |name: &str| vars.get(name);
    let built: Result<Box<dyn TokenSource>, bearer_core::Error> = match settings.provider {
        Provider::OAuth2 => return Ok(Box::new(oauth2(settings, &vars, &names)?)),
        Provider::Zuora => ZuoraTokenSource::from_env_with(lookup).map(|s| Box::new(s) as _),
        Provider::Criteo => CriteoTokenSource::from_env_with(lookup).map(|s| Box::new(s) as _),
        Provider::Akeneo => AkeneoTokenSource::from_env_with(lookup).map(|s| Box::new(s) as _),
        Provider::Zenkipay => ZenkipayTokenSource::from_env_with(lookup).map(|s| Box::new(s) as _),
        Provider::Ixapi => IxApiTokenSource::from_env_with(lookup).map(|s| Box::new(s) as _),
    };
    built.map_err(|error| {
        let failure = with_plain_http_hint(error.into(), vars.get(names.base_url).as_deref());
        match failure.kind {
            Kind::Usage if failure.hint.is_none() => failure
                .with_hint("set it in the environment, in the profile, or with the matching flag (see bearer --help)"),
            _ => failure,
        }
    })
}

/// A hint at the CLI's flag when the library refused a plain-http URL.
pub(crate) fn with_plain_http_hint(failure: Failure, url: Option<&str>) -> Failure {
    let plain_http = url.is_some_and(|url| url.trim_start().to_ascii_lowercase().starts_with("http://"));
    if failure.kind != Kind::Usage || failure.hint.is_some() || !plain_http {
        return failure;
    }
    failure.with_hint(
        "use https; for a local test server add --allow-http-loopback (in a profile: allow_http_loopback = true)",
    )
}

/// Checks a URL the CLI itself sends a token or the client's credentials to (`bearer test
/// --url`, the introspection endpoint) by the library's rule for token endpoints: https, or
/// plain http to a loopback host with `--allow-http-loopback`.
pub(crate) fn check_url(url: &str, what: &str, settings: &Settings) -> Result<(), Failure> {
    check_endpoint(url, what, settings.allow_http_loopback)
        .map(drop)
        .map_err(|error| with_plain_http_hint(error.into(), Some(url)))
}

fn oauth2(settings: &Settings, vars: &Variables, names: &EnvNames) -> Result<OAuth2TokenSource, Failure> {
    let token_url = vars.required(names.base_url).map_err(|f| f.with_hint("give --token-url or BEARER_TOKEN_URL"))?;
    let mut builder = OAuth2TokenSource::builder(&token_url);
    if settings.allow_http_loopback {
        builder = builder.allow_http_loopback();
    }
    if let Some(id) = vars.get(names.client_id) {
        builder = builder.client_id(id);
    }
    if let Some(secret) = vars.get(names.client_secret) {
        builder = builder.client_secret(secret);
    }
    if let Some(auth) = settings.client_auth {
        builder = builder.client_auth(match auth {
            ClientAuthName::ClientSecretBasic => ClientAuth::ClientSecretBasic,
            ClientAuthName::ClientSecretPost => ClientAuth::ClientSecretPost,
        });
    }
    if settings.grant == Some(GrantName::Password) {
        let username = vars.required(names.username)?;
        let password = vars.required(names.password)?;
        builder = builder.grant(Grant::Password { username, password: password.into() });
    }
    if let Some(scope) = &settings.scope {
        builder = builder.scope(scope);
    }
    for (name, value) in &settings.params {
        builder = builder.param(name, value);
    }
    builder.build().map_err(|error| with_plain_http_hint(error.into(), Some(&token_url)))
}

/// The generic flags shape an RFC 6749 request; the provider crates fix their own.
fn check_generic_options(settings: &Settings) -> Result<(), Failure> {
    if settings.provider == Provider::OAuth2 {
        return Ok(());
    }
    let given = [
        ("token_url", settings.token_url.is_some()),
        ("scope", settings.scope.is_some()),
        ("grant", settings.grant.is_some()),
        ("client_auth", settings.client_auth.is_some()),
        ("param/audience", !settings.params.is_empty()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((name, _)) => Err(Failure::usage(format!(
            "{name} applies to --provider oauth2 only; {} shapes its own token request",
            settings.provider.name()
        ))
        .with_hint("for the provider's base URL use --base-url")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::SecretSpec;

    fn settings(provider: Provider, base_url: &str) -> Settings {
        Settings {
            profile: "default".into(),
            provider,
            token_url: None,
            base_url: Some(base_url.into()),
            client_id: None,
            username: None,
            scope: None,
            grant: None,
            client_auth: None,
            params: BTreeMap::new(),
            introspection_url: None,
            allow_http_loopback: false,
            client_secret: SecretSpec::Unset,
            password: SecretSpec::Unset,
        }
    }

    /// A map standing in for the process environment.
    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    const CRITEO: &[(&str, &str)] = &[("CRITEO_CLIENT_ID", "id"), ("CRITEO_CLIENT_SECRET", "secret")];

    #[test]
    fn plain_http_to_loopback_needs_the_flag_which_maps_to_the_library_opt_in() {
        let mut local = settings(Provider::Criteo, "http://127.0.0.1:9");
        let refused = build_with(&local, &env(CRITEO)).err().expect("refused without the opt-in");
        assert_eq!(refused.kind, Kind::Usage);
        assert!(refused.message.contains("plain http"), "{}", refused.message);
        assert!(refused.hint.as_deref().is_some_and(|h| h.contains("--allow-http-loopback")), "{refused:?}");
        local.allow_http_loopback = true;
        assert!(build_with(&local, &env(CRITEO)).is_ok());
        let remote = Settings { allow_http_loopback: true, ..settings(Provider::Criteo, "http://auth.example.com") };
        assert!(build_with(&remote, &env(CRITEO)).is_err(), "only loopback may be plain http");
    }

    #[test]
    fn the_providers_own_opt_in_variable_is_honoured() {
        const ALLOWED: &[(&str, &str)] =
            &[("IXAPI_API_KEY", "k"), ("IXAPI_API_SECRET", "s"), ("IXAPI_ALLOW_HTTP_LOOPBACK", "true")];
        assert!(build_with(&settings(Provider::Ixapi, "http://[::1]:9/api/v2"), &env(ALLOWED)).is_ok());
    }

    #[test]
    fn a_missing_variable_is_named_with_a_hint() {
        let failure =
            build_with(&settings(Provider::Criteo, "https://api.criteo.com"), &env(&[])).err().expect("no client id");
        assert_eq!(failure.kind, Kind::Usage);
        assert!(failure.message.contains("CRITEO_CLIENT_ID is not set"), "{}", failure.message);
        assert!(failure.hint.is_some_and(|h| h.contains("flag")));
    }

    #[test]
    fn check_url_applies_the_library_rule_to_the_clis_own_urls() {
        let mut s = settings(Provider::OAuth2, "https://auth.example.com/token");
        assert!(check_url("https://api.example.com/v1/me", "test URL", &s).is_ok());
        let refused = check_url("http://127.0.0.1:9/me", "test URL", &s).expect_err("refused");
        assert!(refused.hint.is_some_and(|h| h.contains("--allow-http-loopback")));
        s.allow_http_loopback = true;
        assert!(check_url("http://127.0.0.1:9/me", "test URL", &s).is_ok());
        assert!(check_url("http://api.example.com/me", "test URL", &s).is_err());
        assert!(check_url("not a url", "test URL", &s).is_err());
    }
}
