//! The IX-API simulator refuses what IX-API refuses (one test per "Simulator must" item of
//! `providers/ixapi.md`), with RFC 7807 problem documents.

use bearer_testkit::{send_raw, with_headers, Answer, Simulator};
use http::StatusCode;

/// A JSON call to `url` with `Accept: application/json` unless `headers` names another.
async fn call(url: String, headers: &[(&str, &str)], body: serde_json::Value) -> Answer {
    let request = reqwest::Client::new().post(url).json(&body);
    send_raw(with_headers(request, headers, "application/json")).await
}

fn key_and_secret(sim: &Simulator) -> serde_json::Value {
    serde_json::json!({ "api_key": sim.credentials().client_id, "api_secret": sim.credentials().client_secret })
}

fn refresh_url(sim: &Simulator) -> String {
    format!("{}/auth/refresh", sim.base_url())
}

fn assert_problem(answer: &Answer, status: StatusCode, kind: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/problem+json"));
    assert_eq!(answer.json["type"], format!("https://errors.ix-api.net/v2/{kind}"), "{answer:?}");
    assert_eq!(answer.json["status"], status.as_u16());
}

#[tokio::test]
async fn key_and_secret_get_a_201_jwt_pair() {
    let sim = Simulator::ixapi().start().await;
    let answer = call(sim.token_url(), &[], key_and_secret(&sim)).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    for field in ["access_token", "refresh_token"] {
        assert!(answer.json[field].as_str().is_some_and(|t| t.split('.').count() == 3), "{field} is a JWT");
    }
    assert!(answer.json.get("expires_in").is_none());
}

#[tokio::test]
async fn form_encoding_is_a_validation_problem() {
    let sim = Simulator::ixapi().start().await;
    let request = reqwest::Client::new()
        .post(sim.token_url())
        .header("Accept", "application/json")
        .form(&[("api_key", "k"), ("api_secret", "s")]);
    assert_problem(&send_raw(request).await, StatusCode::BAD_REQUEST, "validation-error");
}

#[tokio::test]
async fn missing_fields_are_a_validation_problem_naming_them() {
    let sim = Simulator::ixapi().start().await;
    let answer = call(sim.token_url(), &[], serde_json::json!({ "api_key": "k" })).await;
    assert_problem(&answer, StatusCode::BAD_REQUEST, "validation-error");
    assert_eq!(answer.json["properties"][0]["name"], "api_secret");
    let refresh = call(refresh_url(&sim), &[], serde_json::json!({})).await;
    assert_eq!(refresh.json["properties"][0]["name"], "refresh_token");
}

#[tokio::test]
async fn a_bad_key_or_secret_is_an_authentication_problem() {
    let sim = Simulator::ixapi().start().await;
    let mut body = key_and_secret(&sim);
    body["api_secret"] = "wrong".into();
    assert_problem(&call(sim.token_url(), &[], body).await, StatusCode::UNAUTHORIZED, "authentication-error");
}

#[tokio::test]
async fn a_used_refresh_token_is_an_authentication_problem() {
    let sim = Simulator::ixapi().start().await;
    let pair = call(sim.token_url(), &[], key_and_secret(&sim)).await;
    let body = serde_json::json!({ "refresh_token": pair.json["refresh_token"] });
    assert_eq!(call(refresh_url(&sim), &[], body.clone()).await.status, StatusCode::CREATED, "rotates");
    assert_problem(&call(refresh_url(&sim), &[], body).await, StatusCode::UNAUTHORIZED, "authentication-error");
}

#[tokio::test]
async fn an_accept_header_without_json_is_a_406_problem() {
    let sim = Simulator::ixapi().start().await;
    let answer = call(sim.token_url(), &[("Accept", "text/html")], key_and_secret(&sim)).await;
    assert_problem(&answer, StatusCode::NOT_ACCEPTABLE, "not-acceptable");
}

#[tokio::test]
async fn the_api_answers_a_revoked_token_with_a_401_problem() {
    let sim = Simulator::ixapi().start().await;
    let pair = call(sim.token_url(), &[], key_and_secret(&sim)).await;
    let token = pair.json["access_token"].as_str().map(str::to_owned).expect("token");
    sim.revoke_all();
    let answer = send_raw(reqwest::Client::new().get(sim.api_url()).bearer_auth(token)).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, "authentication-error");
}

#[tokio::test]
async fn an_expired_refresh_token_is_an_authentication_problem() {
    let sim = Simulator::ixapi().refresh_ttl(std::time::Duration::ZERO).start().await;
    let pair = call(sim.token_url(), &[], key_and_secret(&sim)).await;
    let body = serde_json::json!({ "refresh_token": pair.json["refresh_token"] });
    assert_problem(&call(refresh_url(&sim), &[], body).await, StatusCode::UNAUTHORIZED, "authentication-error");
}
