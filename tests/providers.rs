//! Each provider end to end: `BearerAuth` + the provider's source + its simulator, including
//! a server-side revocation that costs exactly one refresh and a successful retry.

use bearer_testkit::{Counters, Simulator};
use http::StatusCode;
use reqwest_bearer::{BearerAuth, TokenSource};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

fn client<S: TokenSource + 'static>(source: S) -> ClientWithMiddleware {
    // The provider's source names its API origin (the simulator's); loopback http is allowed
    // for the simulator only.
    let auth = BearerAuth::builder(source).allow_http_loopback().build().expect("middleware");
    ClientBuilder::new(reqwest::Client::new()).with(auth).build()
}

/// GET, revoke everything, POST with a body: the POST is answered after one refresh.
async fn revocation_round_trip(sim: &Simulator, client: &ClientWithMiddleware, created: StatusCode) -> Counters {
    let first = client.get(sim.api_url()).send().await.expect("request");
    assert_eq!(first.status(), StatusCode::OK);
    sim.revoke_all();
    let retried = client.post(sim.api_url()).body("order #1").send().await.expect("request");
    assert_eq!(retried.status(), created, "the retried request succeeded");
    assert_eq!(retried.text().await.expect("body"), "order #1", "the body was replayed");
    let counters = sim.counters();
    assert_eq!(counters.tokens_issued, 2, "exactly one refresh");
    assert_eq!((counters.api_requests, counters.api_rejections), (3, 1));
    counters
}

#[tokio::test]
async fn zuora_end_to_end() {
    use reqwest_bearer::zuora::{ZuoraEnvironment, ZuoraTokenSource};
    let sim = Simulator::zuora().start().await;
    let source = ZuoraTokenSource::builder(ZuoraEnvironment::Custom(sim.base_url()))
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .build()
        .expect("source");
    revocation_round_trip(&sim, &client(source), StatusCode::OK).await;
}

#[tokio::test]
async fn criteo_end_to_end() {
    use reqwest_bearer::criteo::CriteoTokenSource;
    let sim = Simulator::criteo().start().await;
    let source = CriteoTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .build()
        .expect("source");
    revocation_round_trip(&sim, &client(source), StatusCode::OK).await;
}

#[tokio::test]
async fn akeneo_end_to_end_refreshes_with_the_refresh_token() {
    use reqwest_bearer::akeneo::AkeneoTokenSource;
    let sim = Simulator::akeneo().start().await;
    let creds = sim.credentials();
    let source = AkeneoTokenSource::builder(sim.base_url())
        .allow_http_loopback()
        .client_id(&creds.client_id)
        .client_secret(creds.client_secret.as_str())
        .username(&creds.username)
        .password(creds.password.as_str())
        .build()
        .expect("source");
    let counters = revocation_round_trip(&sim, &client(source), StatusCode::CREATED).await;
    assert_eq!((counters.primary_grants, counters.refresh_grants), (1, 1), "the refresh used the refresh token");
}

#[tokio::test]
async fn zenkipay_end_to_end_treats_403_as_rejection() {
    use reqwest_bearer::zenkipay::ZenkipayTokenSource;
    let sim = Simulator::zenkipay().start().await;
    let source = ZenkipayTokenSource::builder()
        .base_url(sim.base_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .build()
        .expect("source");
    revocation_round_trip(&sim, &client(source), StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_403_is_not_retried_for_a_source_that_does_not_say_so() {
    use reqwest_bearer::oauth2::{ClientAuth, Encoding, FieldNames, OAuth2TokenSource};
    // The same Zenkipay contract spoken through the generic source: a 403 is "forbidden".
    let sim = Simulator::zenkipay().start().await;
    let source = OAuth2TokenSource::builder(sim.token_url())
        .allow_http_loopback()
        .client_id(&sim.credentials().client_id)
        .client_secret(sim.credentials().client_secret.as_str())
        .client_auth(ClientAuth::ClientSecretPost)
        .encoding(Encoding::Json)
        .field_names(FieldNames::CamelCase)
        .api_origin(sim.origin())
        .build()
        .expect("source");
    let client = client(source);
    client.get(sim.api_url()).send().await.expect("warm up");
    sim.revoke_all();
    let response = client.get(sim.api_url()).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!((sim.counters().tokens_issued, sim.counters().api_requests), (1, 2), "no refresh, no retry");
}

#[tokio::test]
async fn ixapi_end_to_end_refreshes_with_the_refresh_token() {
    use reqwest_bearer::ixapi::IxApiTokenSource;
    let sim = Simulator::ixapi().start().await;
    let source = IxApiTokenSource::builder(sim.base_url())
        .allow_http_loopback()
        .api_key(&sim.credentials().client_id)
        .api_secret(sim.credentials().client_secret.as_str())
        .build()
        .expect("source");
    let counters = revocation_round_trip(&sim, &client(source), StatusCode::CREATED).await;
    assert_eq!((counters.primary_grants, counters.refresh_grants), (1, 1));
}
