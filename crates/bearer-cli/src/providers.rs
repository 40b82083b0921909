//! The one module that knows the library's provider APIs: it turns [`Settings`] into a
//! [`TokenSource`].
//!
//! Each provider is configured by the environment variables its crate's `from_env()`
//! documents; the CLI looks each of those names up in the flags and profile first, then in
//! the process environment. The generic provider's variables are the CLI's own
//! (`BEARER_TOKEN_URL`, `BEARER_CLIENT_ID`, `BEARER_CLIENT_SECRET`, `BEARER_USERNAME`,
//! `BEARER_PASSWORD`).

use std::collections::BTreeMap;

use bearer_akeneo::AkeneoTokenSource;
use bearer_core::TokenSource;
use bearer_criteo::CriteoTokenSource;
use bearer_ixapi::IxApiTokenSource;
use bearer_oauth2::{ClientAuth, Grant, OAuth2TokenSource};
use bearer_zenkipay::ZenkipayTokenSource;
use bearer_zuora::{ZuoraEnvironment, ZuoraTokenSource};

use crate::cli::{ClientAuthName, GrantName, Provider};
use crate::config::Settings;
use crate::failure::Failure;

/// The environment variables a provider reads, by role.
struct EnvNames {
    base_url: &'static str,
    client_id: &'static str,
    client_secret: &'static str,
    username: &'static str,
    password: &'static str,
    /// Further non-secret variables that change the token request.
    extra: &'static [&'static str],
}

fn env_names(provider: Provider) -> EnvNames {
    let names = |base_url, client_id, client_secret, extra| EnvNames {
        base_url,
        client_id,
        client_secret,
        username: "BEARER_USERNAME",
        password: "BEARER_PASSWORD",
        extra,
    };
    match provider {
        Provider::OAuth2 => names("BEARER_TOKEN_URL", "BEARER_CLIENT_ID", "BEARER_CLIENT_SECRET", &[]),
        Provider::Zuora => names(
            "ZUORA_ENVIRONMENT",
            "ZUORA_CLIENT_ID",
            "ZUORA_CLIENT_SECRET",
            &["ZUORA_TRACK_ID", "ZUORA_VERSION", "ZUORA_ORG_IDS"],
        ),
        Provider::Criteo => names("CRITEO_BASE_URL", "CRITEO_CLIENT_ID", "CRITEO_CLIENT_SECRET", &[]),
        Provider::Akeneo => EnvNames {
            username: "AKENEO_USERNAME",
            password: "AKENEO_PASSWORD",
            ..names("AKENEO_BASE_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", &[])
        },
        Provider::Zenkipay => names("ZENKIPAY_BASE_URL", "ZENKIPAY_CLIENT_ID", "ZENKIPAY_CLIENT_SECRET", &[]),
        Provider::Ixapi => names("IXAPI_BASE_URL", "IXAPI_API_KEY", "IXAPI_API_SECRET", &[]),
    }
}

/// A provider's variables with the flags and profile laid over the environment.
struct Variables(BTreeMap<&'static str, String>);

impl Variables {
    /// The non-secret variables; secrets are added by [`with_secrets`](Self::with_secrets).
    fn public(settings: &Settings) -> Self {
        let names = env_names(settings.provider);
        let url = match settings.provider {
            Provider::OAuth2 => settings.token_url.clone(),
            _ => settings.base_url.clone(),
        };
        let mut map = BTreeMap::new();
        let given = [
            (names.base_url, url),
            (names.client_id, settings.client_id.clone()),
            (names.username, settings.username.clone()),
        ];
        for (name, value) in given {
            if let Some(value) = value.or_else(|| from_env(name)) {
                map.insert(name, value);
            }
        }
        for name in names.extra {
            if let Some(value) = from_env(name) {
                map.insert(name, value);
            }
        }
        Self(map)
    }

    /// Adds the client secret and password: from the settings when configured there, else
    /// from the provider's own variables.
    fn with_secrets(mut self, settings: &Settings) -> Result<Self, Failure> {
        let names = env_names(settings.provider);
        for (name, spec, what) in [
            (names.client_secret, &settings.client_secret, "the client secret"),
            (names.password, &settings.password, "the password"),
        ] {
            if let Some(value) = spec.resolve(what)?.or_else(|| from_env(name)) {
                self.0.insert(name, value);
            }
        }
        Ok(self)
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

fn from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// What identifies the tokens these settings get, for the cache key: every setting that
/// changes the token request, and no secret.
pub(crate) fn identity(settings: &Settings) -> String {
    let mut parts = vec![format!("provider={}", settings.provider.name())];
    parts.extend(Variables::public(settings).0.iter().map(|(name, value)| format!("{name}={value}")));
    parts.extend(settings.scope.iter().map(|s| format!("scope={s}")));
    parts.extend(settings.grant.iter().map(|g| format!("grant={g:?}")));
    parts.extend(settings.client_auth.iter().map(|a| format!("client_auth={a:?}")));
    parts.extend(settings.params.iter().map(|(name, value)| format!("param:{name}={value}")));
    parts.join("\n")
}

/// The URL tokens are requested from (or the provider's base URL), for messages and checks.
pub(crate) fn endpoint(settings: &Settings) -> Option<String> {
    Variables::public(settings).get(env_names(settings.provider).base_url)
}

/// The client id and secret, for introspection requests. Resolves the secret.
pub(crate) fn client_credentials(settings: &Settings) -> Result<(Option<String>, Option<String>), Failure> {
    let names = env_names(settings.provider);
    let vars = Variables::public(settings).with_secrets(settings)?;
    Ok((vars.get(names.client_id), vars.get(names.client_secret)))
}

/// Builds the token source, resolving secrets (running `client_secret_command` if set).
/// Does no network I/O.
pub(crate) fn build(settings: &Settings) -> Result<Box<dyn TokenSource>, Failure> {
    check_generic_options(settings)?;
    let vars = Variables::public(settings).with_secrets(settings)?;
    let names = env_names(settings.provider);
    let source: Box<dyn TokenSource> = match settings.provider {
        Provider::OAuth2 => Box::new(oauth2(settings, &vars, &names)?),
        Provider::Zuora => {
            let environment = match vars.get(names.base_url) {
                Some(name) => ZuoraEnvironment::from_name(&name)?,
                None => ZuoraEnvironment::UsProduction,
            };
            let mut builder = ZuoraTokenSource::builder(environment)
                .client_id(vars.required(names.client_id)?)
                .client_secret(vars.required(names.client_secret)?);
            if let Some(id) = vars.get("ZUORA_TRACK_ID") {
                builder = builder.track_id(id);
            }
            if let Some(version) = vars.get("ZUORA_VERSION") {
                builder = builder.zuora_version(version);
            }
            if let Some(orgs) = vars.get("ZUORA_ORG_IDS") {
                builder = builder.org_ids(orgs.split(',').map(str::trim).filter(|o| !o.is_empty()));
            }
            Box::new(builder.build()?)
        }
        Provider::Criteo => {
            let mut builder = CriteoTokenSource::builder()
                .client_id(vars.required(names.client_id)?)
                .client_secret(vars.required(names.client_secret)?);
            if let Some(base) = vars.get(names.base_url) {
                builder = builder.base_url(base);
            }
            Box::new(builder.build()?)
        }
        Provider::Akeneo => Box::new(
            AkeneoTokenSource::builder(vars.required(names.base_url)?)
                .client_id(vars.required(names.client_id)?)
                .client_secret(vars.required(names.client_secret)?)
                .username(vars.required(names.username)?)
                .password(vars.required(names.password)?)
                .build()?,
        ),
        Provider::Zenkipay => {
            let mut builder = ZenkipayTokenSource::builder()
                .client_id(vars.required(names.client_id)?)
                .client_secret(vars.required(names.client_secret)?);
            if let Some(base) = vars.get(names.base_url) {
                builder = builder.base_url(base);
            }
            Box::new(builder.build()?)
        }
        Provider::Ixapi => Box::new(
            IxApiTokenSource::builder(vars.required(names.base_url)?)
                .api_key(vars.required(names.client_id)?)
                .api_secret(vars.required(names.client_secret)?)
                .build()?,
        ),
    };
    Ok(source)
}

fn oauth2(settings: &Settings, vars: &Variables, names: &EnvNames) -> Result<OAuth2TokenSource, Failure> {
    let token_url = vars.required(names.base_url).map_err(|f| f.with_hint("give --token-url or BEARER_TOKEN_URL"))?;
    let mut builder = OAuth2TokenSource::builder(token_url);
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
    Ok(builder.build()?)
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
