//! The command line: commands, options, and the example each `--help` shows.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `bearer --help` says after the option list.
const MAIN_AFTER_HELP: &str = "\
Examples:
  bearer token --profile acme
  bearer --provider criteo token --format json      (CRITEO_CLIENT_ID, CRITEO_CLIENT_SECRET)
  bearer --profile acme curl -sS https://api.acme.example/v1/me

Exit codes: 0 ok, 1 rejected by the server (token endpoint or API), 2 usage or configuration,
3 network (endpoint unreachable or timed out). `bearer curl` exits with curl's own status once
it has a token.";

/// Get, inspect and use OAuth2 bearer tokens from any provider.
#[derive(Debug, Parser)]
#[command(name = "bearer", version, about, after_help = MAIN_AFTER_HELP)]
pub(crate) struct Cli {
    /// Where the token comes from.
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    /// What to do with it.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options that say where the token comes from and how the cache is used; valid before or
/// after the command (except after `curl`, whose arguments all go to curl).
#[derive(Debug, Args, Default)]
pub(crate) struct SourceArgs {
    /// The profiles file [default: $XDG_CONFIG_HOME/bearer/config.toml].
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The profile to use [env: BEARER_PROFILE; default: the file's `default_profile`].
    #[arg(long, short = 'p', global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// The provider (each reads its documented environment variables).
    #[arg(long, global = true, value_enum)]
    pub(crate) provider: Option<Provider>,
    /// The token endpoint (provider oauth2).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) token_url: Option<String>,
    /// The provider's base URL (Zuora: also an environment name such as eu-api-sandbox).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// The client id (IX-API: the API key).
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// Reads the client secret from the first line of standard input.
    #[arg(long, global = true)]
    pub(crate) client_secret_stdin: bool,
    /// The resource owner's user name (password grant, Akeneo).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) username: Option<String>,
    /// The `scope` to ask for (provider oauth2).
    #[arg(long, global = true)]
    pub(crate) scope: Option<String>,
    /// The `audience` to ask for (provider oauth2).
    #[arg(long, global = true)]
    pub(crate) audience: Option<String>,
    /// The grant (provider oauth2).
    #[arg(long, global = true, value_enum)]
    pub(crate) grant: Option<GrantName>,
    /// An extra token request parameter, `name=value`; repeat for more (provider oauth2).
    #[arg(long = "param", global = true, value_name = "NAME=VALUE", value_parser = parse_param)]
    pub(crate) params: Vec<(String, String)>,
    /// How the client authenticates (provider oauth2).
    #[arg(long, global = true, value_enum)]
    pub(crate) client_auth: Option<ClientAuthName>,
    /// An RFC 7662 introspection endpoint, for `bearer info` on opaque tokens.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) introspection_url: Option<String>,
    /// Allows plain http to loopback addresses (127.0.0.1, ::1, localhost), for local servers.
    #[arg(long, global = true)]
    pub(crate) allow_http_loopback: bool,
    /// Neither reads nor writes the token cache.
    #[arg(long, global = true)]
    pub(crate) no_cache: bool,
    /// Fetches a new token even when the cached one is fresh (and caches it).
    #[arg(long, global = true)]
    pub(crate) refresh: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Prints the access token.
    #[command(
        after_help = "Example:\n  TOKEN=$(bearer --profile acme token)\n  bearer token --format json | jq .expires_in\n  \
                      bearer --profile akeneo token --format json --show-refresh-token | jq -r .refresh_token"
    )]
    Token {
        /// What to print.
        #[arg(long, value_enum, default_value_t = TokenFormat::Bare)]
        format: TokenFormat,
        /// Adds the refresh token the source holds to the JSON (`--format json` only). Always
        /// fetches: refresh tokens are never cached.
        #[arg(long)]
        show_refresh_token: bool,
    },
    /// Prints `Authorization: Bearer <token>`.
    #[command(after_help = "Example:\n  curl -H @<(bearer --profile acme header) https://api.acme.example/v1/me")]
    Header,
    /// Runs curl with the token added, never on curl's command line.
    #[command(after_help = "Example:\n  bearer --profile acme curl -sS https://api.acme.example/v1/me\n\n\
                      The header reaches curl in a private (0600) config file given with --config,\n\
                      so `ps` never shows the token. Options for bearer go before `curl`.")]
    Curl {
        /// Arguments passed to curl as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CURL ARGS")]
        args: Vec<String>,
    },
    /// Shows what a token says: JWT header and claims, issue and expiry times, time left;
    /// for an opaque token, RFC 7662 introspection when an introspection URL is configured.
    #[command(after_help = "Example:\n  bearer --profile acme info\n  bearer info --json | jq .claims.sub")]
    Info {
        /// Prints one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Exits 0 when a token can be had (and the URL accepts it), non-zero with the reason.
    #[command(after_help = "Example:\n  bearer --profile acme test --url https://api.acme.example/v1/me && echo ok")]
    Test {
        /// An API URL to GET with the token; any 2xx answer passes.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Forgets cached tokens: the profile's, or every one with --all.
    #[command(after_help = "Example:\n  bearer --profile acme reset\n  bearer reset --all")]
    Reset {
        /// Forgets every cached token, whatever the profile.
        #[arg(long)]
        all: bool,
    },
    /// Prints shell completions.
    #[command(after_help = "Example:\n  bearer completions bash > ~/.local/share/bash-completion/completions/bearer")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The providers `bearer` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Provider {
    /// Any RFC 6749 token endpoint (`--token-url`).
    #[value(name = "oauth2")]
    #[serde(rename = "oauth2")]
    OAuth2,
    /// Zuora (`ZUORA_*`).
    Zuora,
    /// Criteo (`CRITEO_*`).
    Criteo,
    /// Akeneo PIM (`AKENEO_*`).
    Akeneo,
    /// Zenkipay (`ZENKIPAY_*`).
    Zenkipay,
    /// IX-API (`IXAPI_*`).
    Ixapi,
}

impl Provider {
    /// The name used on the command line and in profiles.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Provider::OAuth2 => "oauth2",
            Provider::Zuora => "zuora",
            Provider::Criteo => "criteo",
            Provider::Akeneo => "akeneo",
            Provider::Zenkipay => "zenkipay",
            Provider::Ixapi => "ixapi",
        }
    }
}

/// What `bearer token` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenFormat {
    /// The token alone.
    Bare,
    /// `Authorization: Bearer <token>`.
    Header,
    /// `{access_token, token_type, expires_at, expires_in, scope}`.
    Json,
}

/// The grants of the generic provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub(crate) enum GrantName {
    /// `client_credentials`.
    ClientCredentials,
    /// `password` (needs a username and a password).
    Password,
}

/// How the generic provider authenticates the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub(crate) enum ClientAuthName {
    /// HTTP Basic.
    #[value(alias = "basic")]
    ClientSecretBasic,
    /// In the request body.
    #[value(alias = "post")]
    ClientSecretPost,
}

fn parse_param(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got `{raw}`")),
    }
}
