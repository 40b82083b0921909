//! The Akeneo simulator refuses what Akeneo refuses (one test per "Simulator must" item of
//! `providers/akeneo.md`), with Akeneo's `{code, message}` body.

use bearer_testkit::{send_raw, with_headers, Answer, Simulator};
use http::StatusCode;

/// A password-grant token call as JSON with the simulator's client in HTTP Basic, unless
/// `headers` gives another `Authorization` or `Accept`.
async fn token_call(sim: &Simulator, headers: &[(&str, &str)], body: serde_json::Value) -> Answer {
    let creds = sim.credentials();
    let mut request = reqwest::Client::new().post(sim.token_url()).json(&body);
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("authorization")) {
        request = request.basic_auth(&creds.client_id, Some(&creds.client_secret));
    }
    send_raw(with_headers(request, headers, "application/json")).await
}

fn password_body(sim: &Simulator) -> serde_json::Value {
    let creds = sim.credentials();
    serde_json::json!({ "grant_type": "password", "username": creds.username, "password": creds.password })
}

fn assert_code_message(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.json["code"], status.as_u16(), "{answer:?}");
    assert!(answer.json["message"].is_string(), "{answer:?}");
}

#[tokio::test]
async fn json_and_form_are_accepted() {
    let sim = Simulator::akeneo().start().await;
    assert_eq!(token_call(&sim, &[], password_body(&sim)).await.status, StatusCode::OK);
    let creds = sim.credentials();
    let form = [("grant_type", "password"), ("username", &creds.username), ("password", &creds.password)];
    let request = reqwest::Client::new()
        .post(sim.token_url())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .header("Accept", "application/json")
        .form(&form);
    assert_eq!(send_raw(request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_missing_or_wrong_basic_header_is_400() {
    let sim = Simulator::akeneo().start().await;
    let missing = send_raw(
        reqwest::Client::new().post(sim.token_url()).header("Accept", "application/json").json(&password_body(&sim)),
    )
    .await;
    assert_code_message(&missing, StatusCode::BAD_REQUEST);
    let wrong = token_call(&sim, &[("Authorization", "Basic c29tZW9uZTpub3Bl")], password_body(&sim)).await;
    assert_code_message(&wrong, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn another_content_type_is_415() {
    let sim = Simulator::akeneo().start().await;
    let creds = sim.credentials();
    let request = reqwest::Client::new()
        .post(sim.token_url())
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .header("Accept", "application/json")
        .header("Content-Type", "text/plain")
        .body(password_body(&sim).to_string());
    assert_code_message(&send_raw(request).await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_wrong_password_is_422() {
    let sim = Simulator::akeneo().start().await;
    let mut body = password_body(&sim);
    body["password"] = "wrong".into();
    assert_code_message(&token_call(&sim, &[], body).await, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_used_refresh_token_is_422() {
    let sim = Simulator::akeneo().start().await;
    let first = token_call(&sim, &[], password_body(&sim)).await;
    let refresh = first.json["refresh_token"].as_str().map(str::to_owned).expect("refresh token");
    let body = serde_json::json!({ "grant_type": "refresh_token", "refresh_token": refresh });
    assert_eq!(token_call(&sim, &[], body.clone()).await.status, StatusCode::OK, "first use rotates it");
    assert_code_message(&token_call(&sim, &[], body).await, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_accept_header_without_json_is_406() {
    let sim = Simulator::akeneo().start().await;
    let answer = token_call(&sim, &[("Accept", "text/html")], password_body(&sim)).await;
    assert_code_message(&answer, StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn the_api_answers_an_unknown_token_with_401_code_message() {
    let sim = Simulator::akeneo().start().await;
    let answer = send_raw(reqwest::Client::new().get(sim.api_url()).bearer_auth("never-issued")).await;
    assert_code_message(&answer, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json["message"], "The access token provided is invalid.");
}

#[tokio::test]
async fn an_expired_refresh_token_is_422() {
    let sim = Simulator::akeneo().refresh_ttl(std::time::Duration::ZERO).start().await;
    let first = token_call(&sim, &[], password_body(&sim)).await;
    let refresh = first.json["refresh_token"].as_str().map(str::to_owned).expect("refresh token");
    let body = serde_json::json!({ "grant_type": "refresh_token", "refresh_token": refresh });
    assert_code_message(&token_call(&sim, &[], body).await, StatusCode::UNPROCESSABLE_ENTITY);
}
