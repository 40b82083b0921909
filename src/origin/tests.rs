use super::*;

fn url(text: &str) -> Url {
    Url::parse(text).expect("url")
}

fn policy(origins: &[&str], any_https: bool, loopback: bool) -> OriginPolicy {
    OriginPolicy::build(&strings(origins), &[], any_https, loopback).expect("valid origins")
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| (*t).to_owned()).collect()
}

/// The refusal for `text` named with `allow_origin`.
fn refusal(text: &str, loopback: bool) -> String {
    OriginPolicy::build(&strings(&[text]), &[], false, loopback).expect_err("refused")
}

#[test]
fn an_origin_without_a_scheme_is_refused_with_the_https_spelling() {
    let why = refusal("api.example.com", false);
    assert!(why.starts_with("allow_origin: `api.example.com` has no scheme"), "{why}");
    assert!(why.ends_with("write `https://api.example.com`"), "{why}");
    // `host:port` parses as a URL whose scheme is the host: refused all the same.
    assert!(refusal("api.example.com:8443", false).ends_with("write `https://api.example.com:8443`"));
    assert!(refusal("127.0.0.1:4011", true).ends_with("write `https://127.0.0.1:4011`"));
    assert!(refusal("localhost:8080", true).ends_with("write `https://localhost:8080`"));
    assert!(refusal("api.example.com/v1", false).ends_with("write `https://api.example.com`"));
    // One slash is still a URL to the parser (as in browsers): the origin it means.
    assert!(OriginPolicy::build(&strings(&["https:/api.example.com"]), &[], false, false).is_ok());
}

#[test]
fn text_that_does_not_parse_is_refused() {
    let why = refusal("https://exa mple.com", false);
    assert!(why.contains("is not a URL") && why.contains("`https://api.example.com`"), "{why}");
    assert!(refusal("https://", false).contains("is not a URL"));
}

#[test]
fn plain_http_to_loopback_is_refused_unless_allowed() {
    let why = refusal("http://127.0.0.1:4011", false);
    assert!(why.contains("allow_http_loopback()") && why.contains("`https://127.0.0.1:4011`"), "{why}");
    assert!(OriginPolicy::build(&strings(&["http://127.0.0.1:4011"]), &[], false, true).is_ok());
    assert!(refusal("http://localhost:1", false).contains("allow_http_loopback()"));
}

#[test]
fn plain_http_to_a_remote_host_is_refused_even_with_loopback_allowed() {
    for loopback in [false, true] {
        let why = refusal("http://api.example.com", loopback);
        assert!(why.contains("not loopback") && why.ends_with("write `https://api.example.com`"), "{why}");
        assert!(!why.contains("allow_http_loopback"), "no advice that would not help: {why}");
    }
    assert!(refusal("http://10.0.0.1:8080", true).ends_with("write `https://10.0.0.1:8080`"));
}

#[test]
fn other_schemes_are_refused() {
    let why = refusal("ftp://files.example.com", false);
    assert!(why.contains("never `ftp`") && why.ends_with("write `https://files.example.com`"), "{why}");
}

#[test]
fn paths_queries_and_user_info_are_refused() {
    for text in ["https://api.example.com/v1", "https://api.example.com?x=1", "https://api.example.com#f"] {
        assert!(refusal(text, false).ends_with("write `https://api.example.com`"), "{text}");
    }
    // A trailing slash is the same URL as none.
    assert!(OriginPolicy::build(&strings(&["https://api.example.com/"]), &[], false, false).is_ok());
    let why = refusal("https://me:hunter2@api.example.com", false);
    assert!(why.ends_with("write `https://api.example.com`"), "{why}");
    assert!(!why.contains("hunter2") && !why.contains("me:"), "user info is never printed: {why}");
}

#[test]
fn user_info_never_reaches_a_message() {
    assert_eq!(without_user_info("https://u:pw@h.example/x@y"), "https://[redacted]@h.example/x@y");
    assert_eq!(without_user_info("u:pw@h.example"), "[redacted]@h.example");
    assert_eq!(without_user_info("https://h.example/a@b"), "https://h.example/a@b");
    for text in ["u:pw@h.example", "http://u:pw@10.0.0.1", "https://u:pw@exa mple.com", "ftp://u:pw@h"] {
        assert!(!refusal(text, false).contains("pw"), "{text}");
    }
}

#[test]
fn the_sources_origins_are_checked_like_named_ones() {
    let why = OriginPolicy::build(&[], &strings(&["api.example.com"]), false, false).expect_err("refused");
    assert!(why.starts_with("the token source's API origin: `api.example.com` has no scheme"), "{why}");
    let why = OriginPolicy::build(&[], &strings(&["http://127.0.0.1:9"]), false, false).expect_err("refused");
    assert!(why.contains("allow_http_loopback()"), "{why}");
    let p = OriginPolicy::build(&[], &strings(&["https://api.example.com"]), false, false).expect("valid");
    assert!(p.permits(&url("https://api.example.com/x")));
    assert!(!p.permits(&url("https://other.example.com/x")));
    // Named origins replace the source's, which are then not used (nor checked).
    let p = OriginPolicy::build(&strings(&["https://mine.example.com"]), &strings(&["garbage"]), false, false)
        .expect("named origins replace the source's");
    assert!(p.permits(&url("https://mine.example.com/")));
}

#[test]
fn no_origin_at_all_is_refused_unless_any_https_was_chosen() {
    let why = OriginPolicy::build(&[], &[], false, true).expect_err("no origin");
    assert!(why.contains("allow_origin(") && why.contains("allow_any_https_origin()"), "{why}");
    let any = OriginPolicy::build(&[], &[], true, false).expect("explicitly any https");
    assert!(any.permits(&url("https://anything.example.com/")));
    assert!(!any.permits(&url("http://127.0.0.1/")));
}

#[test]
fn exact_https_origins() {
    let p = policy(&["https://api.example.com"], false, false);
    assert!(p.permits(&url("https://API.example.com/v1/x?y=1")));
    assert!(p.permits(&url("https://api.example.com:443/")));
    assert!(!p.permits(&url("https://api.example.com:8443/")));
    assert!(!p.permits(&url("https://evil.example.com/")));
    assert!(!p.permits(&url("https://api.example.com.evil.net/")));
    assert!(!p.permits(&url("https://api.example.com@evil.net/")), "user info tricks");
    assert!(!p.permits(&url("https://user@api.example.com/")), "user info is not the origin");
    assert!(p.permits(&url("https://api.example.com?q=1")));
    assert!(!p.permits(&url("http://api.example.com/")), "plain http never");
}

#[test]
fn http_only_to_loopback_and_only_when_allowed() {
    let allowed = policy(&["http://127.0.0.1:8080"], false, true);
    assert!(allowed.permits(&url("http://127.0.0.1:8080/api")));
    assert!(!allowed.permits(&url("http://127.0.0.1:9090/api")), "other port");
    let any = policy(&[], true, true);
    assert!(any.permits(&url("http://[::1]:1/")));
    assert!(any.permits(&url("http://localhost:1/")));
    assert!(!any.permits(&url("http://10.0.0.1/")), "http to a non-loopback host never");
    assert!(!any.permits(&url("http://example.com/")));
    assert!(!any.permits(&url("ftp://127.0.0.1/")));
    let https_only = policy(&["https://127.0.0.1:8080"], false, false);
    assert!(!https_only.permits(&url("http://127.0.0.1:8080/")), "an https origin does not allow its http twin");
}

#[test]
fn a_wildcard_host_is_refused_not_taken_literally() {
    // `*` is a valid host character to the URL parser, so `https://*.example.com` would be an
    // origin no request is ever on: the token would silently never be sent.
    for text in ["https://*.example.com", "https://api.*.example.com", "*.example.com"] {
        let why = refusal(text, false);
        assert!(why.contains("wildcard") && why.contains("allow_any_https_origin()"), "{text}: {why}");
    }
}
