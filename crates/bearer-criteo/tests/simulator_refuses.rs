//! The Criteo simulator refuses what Criteo refuses (one test per "Simulator must" item of
//! `providers/criteo.md`), so that a contract test fails when the crate sends a wrong request.

use bearer_testkit::{send_raw, with_headers, Answer, Simulator};
use http::StatusCode;

/// A token call: `form` as the body, the documented `Accept` unless `headers` names another.
async fn token_call(sim: &Simulator, headers: &[(&str, &str)], form: &[(&str, &str)]) -> Answer {
    let request = reqwest::Client::new().post(sim.token_url()).form(form);
    send_raw(with_headers(request, headers, "text/plain, application/json, text/json")).await
}

fn documented_form(sim: &Simulator) -> Vec<(&str, &str)> {
    let creds = sim.credentials();
    vec![("client_id", &creds.client_id), ("client_secret", &creds.client_secret), ("grant_type", "client_credentials")]
}

fn assert_oauth_error(answer: &Answer, status: StatusCode, error: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.json["error"], error, "{answer:?}");
    assert!(answer.json["error_description"].is_string(), "{{error, error_description}}: {answer:?}");
}

#[tokio::test]
async fn the_documented_request_is_accepted() {
    let sim = Simulator::criteo().start().await;
    let answer = token_call(&sim, &[], &documented_form(&sim)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!((answer.json["token_type"].as_str(), answer.json["expires_in"].as_u64()), (Some("Bearer"), Some(900)));
}

#[tokio::test]
async fn a_json_body_is_invalid_request() {
    let sim = Simulator::criteo().start().await;
    let creds = sim.credentials();
    let body = serde_json::json!({
        "client_id": creds.client_id, "client_secret": creds.client_secret, "grant_type": "client_credentials",
    });
    let request = reqwest::Client::new().post(sim.token_url()).header("Accept", "application/json").json(&body);
    assert_oauth_error(&send_raw(request).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_field_outside_the_three_is_invalid_request() {
    let sim = Simulator::criteo().start().await;
    let mut form = documented_form(&sim);
    form.push(("scope", "all"));
    assert_oauth_error(&token_call(&sim, &[], &form).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn credentials_in_an_authorization_header_are_invalid_request() {
    let sim = Simulator::criteo().start().await;
    let answer = token_call(&sim, &[("Authorization", "Basic YTpi")], &documented_form(&sim)).await;
    assert_oauth_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn another_grant_is_unsupported() {
    let sim = Simulator::criteo().start().await;
    let mut form = documented_form(&sim);
    form[2] = ("grant_type", "password");
    assert_oauth_error(&token_call(&sim, &[], &form).await, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn bad_credentials_are_invalid_client() {
    let sim = Simulator::criteo().start().await;
    let mut form = documented_form(&sim);
    form[1] = ("client_secret", "wrong");
    assert_oauth_error(&token_call(&sim, &[], &form).await, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn an_accept_header_without_json_is_refused() {
    let sim = Simulator::criteo().start().await;
    let answer = token_call(&sim, &[("Accept", "text/html")], &documented_form(&sim)).await;
    assert_oauth_error(&answer, StatusCode::NOT_ACCEPTABLE, "invalid_request");
}

#[tokio::test]
async fn the_api_answers_a_revoked_token_with_401() {
    let sim = Simulator::criteo().start().await;
    let answer = token_call(&sim, &[], &documented_form(&sim)).await;
    let token = answer.json["access_token"].as_str().map(str::to_owned).expect("token");
    sim.revoke_all();
    let api = send_raw(reqwest::Client::new().get(sim.api_url()).bearer_auth(token)).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.json["errors"][0]["code"], "authorization-token-invalid");
}

#[tokio::test]
async fn a_repeated_field_is_invalid_request() {
    // RFC 6749 §3.2: a parameter must not be sent more than once, even with the same value.
    let sim = Simulator::criteo().start().await;
    let mut form = documented_form(&sim);
    form.push(("grant_type", "client_credentials"));
    assert_oauth_error(&token_call(&sim, &[], &form).await, StatusCode::BAD_REQUEST, "invalid_request");
}
