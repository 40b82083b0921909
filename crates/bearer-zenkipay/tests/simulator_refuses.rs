//! The Zenkipay simulator refuses what Zenkipay refuses (one test per "Simulator must" item of
//! `providers/zenkipay.md`), always with Zenkipay's camelCase error body.

use bearer_testkit::{send_raw, with_headers, Answer, Fault, Simulator};
use http::StatusCode;

/// A token call with `body` as JSON and `Accept: application/json` unless `headers` names
/// another.
async fn token_call(sim: &Simulator, headers: &[(&str, &str)], body: serde_json::Value) -> Answer {
    let request = reqwest::Client::new().post(sim.token_url()).json(&body);
    send_raw(with_headers(request, headers, "application/json")).await
}

fn documented_body(sim: &Simulator) -> serde_json::Value {
    let creds = sim.credentials();
    serde_json::json!({
        "clientId": creds.client_id, "clientSecret": creds.client_secret, "grantType": "client_credentials",
    })
}

/// `{error, errorDescription}` and nothing in snake_case.
fn assert_camel_case_error(answer: &Answer, status: StatusCode, error: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.json["error"], error, "{answer:?}");
    assert!(answer.json["errorDescription"].is_string(), "{answer:?}");
    assert!(answer.json.get("error_description").is_none(), "{answer:?}");
}

#[tokio::test]
async fn the_documented_request_is_accepted() {
    let sim = Simulator::zenkipay().start().await;
    let answer = token_call(&sim, &[], documented_body(&sim)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.json["accessToken"].is_string() && answer.json["expiresIn"].is_u64(), "{answer:?}");
}

#[tokio::test]
async fn form_encoding_is_refused() {
    let sim = Simulator::zenkipay().start().await;
    let creds = sim.credentials();
    let form = [("clientId", &creds.client_id), ("clientSecret", &creds.client_secret)];
    let request = reqwest::Client::new().post(sim.token_url()).header("Accept", "application/json").form(&form);
    assert_camel_case_error(&send_raw(request).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn snake_case_fields_are_refused() {
    let sim = Simulator::zenkipay().start().await;
    let creds = sim.credentials();
    let body = serde_json::json!({
        "client_id": creds.client_id, "client_secret": creds.client_secret, "grant_type": "client_credentials",
    });
    assert_camel_case_error(&token_call(&sim, &[], body).await, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_wrong_grant_type_is_refused() {
    let sim = Simulator::zenkipay().start().await;
    let mut body = documented_body(&sim);
    body["grantType"] = "refresh_token".into();
    assert_camel_case_error(&token_call(&sim, &[], body).await, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let sim = Simulator::zenkipay().start().await;
    let mut body = documented_body(&sim);
    body["clientSecret"] = "wrong".into();
    assert_camel_case_error(&token_call(&sim, &[], body).await, StatusCode::BAD_REQUEST, "invalid_client");
}

#[tokio::test]
async fn an_authorization_header_is_refused() {
    let sim = Simulator::zenkipay().start().await;
    let answer = token_call(&sim, &[("Authorization", "Basic YTpi")], documented_body(&sim)).await;
    assert_camel_case_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn an_accept_header_without_json_is_refused() {
    let sim = Simulator::zenkipay().start().await;
    let answer = token_call(&sim, &[("Accept", "text/html")], documented_body(&sim)).await;
    assert_camel_case_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn injected_faults_answer_the_camel_case_body() {
    let sim = Simulator::zenkipay().start().await;
    sim.fail_next(1, Fault::server_error());
    let answer = token_call(&sim, &[], documented_body(&sim)).await;
    assert_camel_case_error(&answer, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert_eq!(answer.json["errorDescription"], "Unexpected error creating auth token");
    sim.fail_next(1, Fault::status(StatusCode::TOO_MANY_REQUESTS, Some(3)));
    let answer = token_call(&sim, &[], documented_body(&sim)).await;
    assert_camel_case_error(&answer, StatusCode::TOO_MANY_REQUESTS, "invalid_request");
    assert_eq!(answer.header("retry-after"), Some("3"));
}

#[tokio::test]
async fn the_api_answers_a_missing_or_revoked_token_with_403() {
    let sim = Simulator::zenkipay().start().await;
    let token = token_call(&sim, &[], documented_body(&sim)).await.json["accessToken"]
        .as_str()
        .map(str::to_owned)
        .expect("token");
    let missing = send_raw(reqwest::Client::new().get(sim.api_url())).await;
    assert_eq!((missing.status, &missing.json["message"]), (StatusCode::FORBIDDEN, &"Access denied.".into()));
    sim.revoke_all();
    let revoked = send_raw(reqwest::Client::new().get(sim.api_url()).bearer_auth(token)).await;
    assert_eq!(revoked.status, StatusCode::FORBIDDEN);
}
