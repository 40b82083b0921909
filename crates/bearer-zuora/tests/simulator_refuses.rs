//! The Zuora simulator refuses what Zuora refuses (one test per "Simulator must" item of
//! `providers/zuora.md`), so that a contract test fails when the crate sends a wrong request.

use bearer_testkit::{send_raw, with_headers, Answer, Simulator, ZUORA_WWW_AUTHENTICATE};
use http::StatusCode;

/// A token call with the three documented form fields and `Accept: application/json` (unless
/// `headers` names another), plus `headers` and `extra_fields`.
async fn token_call(sim: &Simulator, headers: &[(&str, &str)], extra_fields: &[(&str, &str)]) -> Answer {
    let creds = sim.credentials();
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", creds.client_id.as_str()),
        ("client_secret", creds.client_secret.as_str()),
    ];
    form.extend_from_slice(extra_fields);
    let request = reqwest::Client::new().post(sim.token_url()).form(&form);
    send_raw(with_headers(request, headers, "application/json")).await
}

fn assert_invalid_input(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    assert!(answer.json["message"].is_string() && answer.json.get("code").is_some(), "{{code, message}}: {answer:?}");
    assert!(answer.header("zuora-request-id").is_some());
}

fn assert_authentication_error(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert_eq!(answer.header("www-authenticate"), Some(ZUORA_WWW_AUTHENTICATE));
    assert_eq!(answer.json, serde_json::json!({ "message": "Authentication error" }));
}

#[tokio::test]
async fn the_documented_request_is_accepted() {
    let sim = Simulator::zuora().start().await;
    let answer = token_call(&sim, &[], &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.json["expires_in"].is_f64() && answer.json["jti"].is_string() && answer.json["scope"].is_string());
    assert!(
        answer.header("x-ratelimit-limit-minute").is_some() && answer.header("x-ratelimit-remaining-minute").is_some()
    );
}

#[tokio::test]
async fn a_json_body_is_invalid_input() {
    let sim = Simulator::zuora().start().await;
    let creds = sim.credentials();
    let body = serde_json::json!({
        "grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret,
    });
    let request = reqwest::Client::new().post(sim.token_url()).header("Accept", "application/json").json(&body);
    assert_invalid_input(&send_raw(request).await);
}

#[tokio::test]
async fn a_field_outside_the_contract_is_invalid_input() {
    let sim = Simulator::zuora().start().await;
    assert_invalid_input(&token_call(&sim, &[], &[("apiSecretAccessKey", "x")]).await);
    assert_invalid_input(&token_call(&sim, &[], &[("scope", "read")]).await);
}

#[tokio::test]
async fn an_authentication_header_on_the_token_call_is_an_authentication_error() {
    let sim = Simulator::zuora().start().await;
    for header in ["Authorization", "apiAccessKeyId", "apiSecretAccessKey"] {
        assert_authentication_error(&token_call(&sim, &[(header, "Basic YTpi")], &[]).await);
    }
}

#[tokio::test]
async fn a_wrong_grant_is_invalid_input() {
    let sim = Simulator::zuora().start().await;
    let creds = sim.credentials();
    let form = [("grant_type", "password"), ("client_id", &creds.client_id), ("client_secret", &creds.client_secret)];
    let request = reqwest::Client::new().post(sim.token_url()).header("Accept", "application/json").form(&form);
    assert_invalid_input(&send_raw(request).await);
}

#[tokio::test]
async fn bad_credentials_are_an_authentication_error() {
    let sim = Simulator::zuora().start().await;
    let form = [("grant_type", "client_credentials"), ("client_id", "someone"), ("client_secret", "nope")];
    let request = reqwest::Client::new().post(sim.token_url()).header("Accept", "application/json").form(&form);
    assert_authentication_error(&send_raw(request).await);
}

#[tokio::test]
async fn an_accept_header_without_json_is_refused() {
    let sim = Simulator::zuora().start().await;
    let answer = token_call(&sim, &[("Accept", "text/html")], &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_ACCEPTABLE, "{answer:?}");
}

#[tokio::test]
async fn an_invalid_track_id_is_invalid_input_and_a_valid_one_is_echoed() {
    let sim = Simulator::zuora().start().await;
    for bad in ["a;b", "a:b", "a\"b", "a'b", &"x".repeat(65)] {
        assert_invalid_input(&token_call(&sim, &[("Zuora-Track-Id", bad)], &[]).await);
    }
    let ok = token_call(&sim, &[("Zuora-Track-Id", "ok-1"), ("Zuora-Version", "2024-05-20")], &[]).await;
    assert_eq!((ok.status, ok.header("zuora-track-id")), (StatusCode::OK, Some("ok-1")));
}

#[tokio::test]
async fn over_the_rate_limit_is_429_with_the_seed_headers_only() {
    let sim = Simulator::zuora().rate_limit_per_minute(1).start().await;
    assert_eq!(token_call(&sim, &[], &[]).await.status, StatusCode::OK);
    let limited = token_call(&sim, &[], &[]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        (limited.header("x-ratelimit-limit-minute"), limited.header("x-ratelimit-remaining-minute")),
        (Some("1"), Some("0"))
    );
    for invented in ["retry-after", "ratelimit-reset", "x-ratelimit-reset"] {
        assert_eq!(limited.header(invented), None, "{invented} is not in the seed");
    }
}

#[tokio::test]
async fn the_api_answers_a_revoked_token_with_401_and_the_challenge() {
    let sim = Simulator::zuora().start().await;
    let token = token_call(&sim, &[], &[]).await.json["access_token"].as_str().map(str::to_owned).expect("token");
    sim.revoke_all();
    let answer = send_raw(reqwest::Client::new().get(sim.api_url()).bearer_auth(token)).await;
    assert_authentication_error(&answer);
}

#[tokio::test]
async fn a_repeated_field_is_invalid_input() {
    // RFC 6749 §3.2: a parameter must not be sent more than once, even with the same value.
    let sim = Simulator::zuora().start().await;
    let creds = sim.credentials();
    assert_invalid_input(&token_call(&sim, &[], &[("client_id", &creds.client_id)]).await);
    assert_invalid_input(&token_call(&sim, &[], &[("grant_type", "client_credentials")]).await);
}
