//! In-process simulators of OAuth2 token endpoints and the APIs they protect.
//!
//! Each simulator is a real HTTP server (axum on `127.0.0.1:0`) started inside the test's
//! runtime. It speaks one provider's token contract exactly, rejects what the real service
//! rejects with the real status and body, issues tokens with a configurable lifetime, counts
//! and records every request, fails on demand ([`Fault`]), revokes tokens, and serves a
//! protected API that answers a bad token the way the real API does.
//!
//! These are the project's own fakes for tests, examples and benches; never a dependency of
//! the library crates.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use bearer_testkit::Simulator;
//!
//! let sim = Simulator::oauth2().start().await;
//! assert_eq!(sim.counters().token_requests, 0);
//! println!("token endpoint at {}", sim.token_url());
//! # }
//! ```
#![warn(missing_docs)]

mod akeneo;
mod answer;
mod authz;
mod authz_grants;
mod criteo;
mod env;
mod fault;
mod generic;
mod hot_path;
mod inspect;
mod ixapi;
mod jwt;
mod keys;
mod redis;
mod request;
mod routes;
mod server;
mod state;
mod tls;
mod verify;
mod zenkipay;
mod zuora;

pub use answer::{send_raw, with_headers, Answer};
pub use authz::{AuthorizationServer, AuthorizationServerBuilder, ClientRegistration, ExchangeRecord, ACTIONS_ISSUER};
pub use env::env_map;
pub use fault::Fault;
pub use hot_path::{CannedResponse, FixedSource, FloorAuth};
pub use inspect::{jwt_part, oauth_error_of};
pub use jwt::fake_jwt;
pub use keys::{unix_now, TestKey};
pub use redis::{RedisCluster, RedisServer};
pub use server::{Simulator, SimulatorBuilder};
pub use state::{CapturedRequest, Counters, Credentials, ExpiresInStyle};
pub use tls::{self_signed_client_certificate, ClientCertificate, TestCa, TlsSetup};
pub use verify::TrustedIssuer;
pub use zuora::WWW_AUTHENTICATE as ZUORA_WWW_AUTHENTICATE;
