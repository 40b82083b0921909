//! `bearer`: get, inspect and use OAuth2 bearer tokens from any provider, on the same
//! crates as the `reqwest-bearer` middleware, so what works in the terminal works in the
//! service. See `bearer --help`, and the README's "Command line" section.
#![warn(missing_docs)]

mod cli;
mod config;
mod curl;
mod failure;
mod freshness;
mod info;
mod output;
mod providers;
mod secrets;
mod spinner;
mod token_store;
mod tokens;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command, TokenFormat};
use crate::failure::Failure;
use crate::token_store::TokenStore;
use crate::tokens::{CacheUse, Tokens};

fn main() -> ExitCode {
    // clap prints usage errors and exits 2; --help and --version exit 0.
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            failure.report();
            failure.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let Cli { source, command } = cli;
    if let Command::Token { format, show_refresh_token: true } = command {
        if format != TokenFormat::Json {
            return Err(Failure::usage("--show-refresh-token needs --format json"));
        }
    }
    if let Command::Completions { shell } = command {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "bearer", &mut out);
        output::emit(String::from_utf8_lossy(&out).trim_end())?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = TokenStore::open()?;
    if let Command::Reset { all: true } = command {
        let removed = store.remove(None)?;
        eprintln!("forgot {removed} cached token(s)");
        return Ok(ExitCode::SUCCESS);
    }
    let settings = config::settings(&source)?;
    if let Command::Reset { .. } = command {
        let removed = store.remove(Some(&settings.profile))?;
        eprintln!("forgot {removed} cached token(s) of profile {}", settings.profile);
        return Ok(ExitCode::SUCCESS);
    }
    let cache = match (source.no_cache, source.refresh) {
        (true, _) => CacheUse::Off,
        (false, true) => CacheUse::Refresh,
        (false, false) => CacheUse::Normal,
    };
    let tokens = Tokens::new(&settings, store, cache)?;
    if let Command::Token { show_refresh_token: true, .. } = command {
        let (record, refresh) = tokens.fetch_with_refresh_token()?;
        output::emit(&output::token_with_refresh(&record, refresh.as_ref()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let record = tokens.get()?;
    match command {
        Command::Token { format, .. } => output::emit(&output::token(&record, format))?,
        Command::Header => output::emit(&output::header_line(&record))?,
        Command::Curl { args } => return curl::run(&record, &args),
        Command::Info { json } => {
            let introspection = match &settings.introspection_url {
                Some(url) => Some(info::introspect(&settings, url, &record, tokens.runtime())?),
                None => None,
            };
            let described = info::describe(&record, introspection);
            output::emit(&if json { described.to_string() } else { info::render(&described) })?;
        }
        Command::Test { url } => {
            if let Some(url) = url {
                probe(&settings, &tokens, &record, &url)?;
            }
            eprintln!("ok: a token can be had from profile {}", settings.profile);
        }
        Command::Reset { .. } | Command::Completions { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `bearer test --url`: GETs the URL with the token; any 2xx passes. An answer the provider's
/// source calls a token rejection also drops the cached token, so the next run fetches anew.
fn probe(
    settings: &config::Settings,
    tokens: &Tokens<'_>,
    record: &token_store::TokenRecord,
    url: &str,
) -> Result<(), Failure> {
    providers::check_url(url, "test URL", settings)?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::usage(format!("cannot build an HTTP client: {e}")))?;
    let mut authorization = http::HeaderValue::try_from(output::bearer_value(record))
        .map_err(|_| Failure::rejected("the token cannot be sent in a header"))?;
    authorization.set_sensitive(true);
    let request = client.get(url).header(http::header::AUTHORIZATION, authorization);
    let (status, headers) = tokens.runtime().block_on(async {
        request.send().await.map(|r| (r.status(), r.headers().clone())).map_err(|e| {
            Failure::network(format!("{url} unreachable: {}", e.without_url()))
                .with_hint("check the URL and the network")
        })
    })?;
    if status.is_success() {
        eprintln!("ok: {url} answered HTTP {}", status.as_u16());
        return Ok(());
    }
    // Which answers mean "bad token" is the provider's call (Zenkipay's API says 403).
    let rejected = match providers::build(settings) {
        Ok(source) => source.is_token_rejected(status, &headers),
        Err(_) => status == http::StatusCode::UNAUTHORIZED,
    };
    if rejected {
        tokens.forget();
        return Err(Failure::rejected(format!("{url} rejected the token (HTTP {})", status.as_u16()))
            .with_hint("the token may be revoked or for another audience; the cached token was dropped"));
    }
    Err(Failure::rejected(format!("{url} answered HTTP {}", status.as_u16()))
        .with_hint("the token endpoint issued the token; check the URL and the token's scope"))
}
