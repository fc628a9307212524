//! Response modes (`query`, `fragment`, `form_post`) and the `prompt` values of OIDC Core:
//! every authorization response, code or error, goes back in the requested mode with `iss`
//! (RFC 9207), and the form_post page's CSP lets exactly its own script post it.

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION};
use tollgate_core::authorize::s256;

use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, TestClient, VERIFIER, Visit, authorize_url, code_flow,
    hidden, json, query_param, redeem,
};
use tollgate_testkit::on_both_backends;

/// The parameters in a URL's fragment.
fn fragment_params(url: &str) -> Vec<(String, String)> {
    let fragment = url::Url::parse(url)
        .expect("url")
        .fragment()
        .unwrap_or_default()
        .to_owned();
    form_urlencoded::parse(fragment.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A signed-in browser that has consented to `read` for `client`.
async fn consented(app: &TestApp, client: &TestClient, email: &str) -> Browser {
    let browser = Browser::new(app);
    let code = crate::helpers::read_code(&browser, client, email).await;
    json(redeem(app, client, &code, Some(VERIFIER)).await, 200).await;
    browser
}

fn url_in_mode(client: &TestClient, mode: &str, extra: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut params = vec![
        ("scope", "read"),
        ("state", "st 1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("response_mode", mode),
    ];
    params.extend_from_slice(extra);
    authorize_url("/oauth/authorize", client, &params)
}

async fn fragment_mode_puts_the_response_in_the_fragment(backend: Backend) {
    let Some((app, client, _)) = code_flow(backend, "frag@example.com").await else {
        return;
    };
    let browser = consented(&app, &client, "frag@example.com").await;
    let Visit::Left(back) = browser.visit(&url_in_mode(&client, "fragment", &[])).await else {
        panic!("a redirect to the client")
    };
    assert!(back.starts_with(&format!("{REDIRECT}#")), "{back}");
    let params = fragment_params(&back);
    assert_eq!(get(&params, "state"), Some("st 1"));
    assert_eq!(get(&params, "iss"), Some(app.base.as_str()));
    let code = get(&params, "code").expect("code in the fragment");
    assert!(query_param(&back, "code").is_none());
    json(redeem(&app, &client, code, Some(VERIFIER)).await, 200).await;

    // An error after the redirect URI is trusted goes back in the fragment too.
    let url = url_in_mode(
        &client,
        "fragment",
        &[("resource", "https://unknown.example")],
    );
    let Visit::Left(back) = browser.visit(&url).await else {
        panic!("a redirect to the client")
    };
    let params = fragment_params(&back);
    assert_eq!(get(&params, "error"), Some("invalid_target"));
    assert_eq!(get(&params, "iss"), Some(app.base.as_str()));

    // An unknown mode is refused (in the default query mode).
    let Visit::Left(back) = browser.visit(&url_in_mode(&client, "jwt", &[])).await else {
        panic!("a redirect to the client")
    };
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("invalid_request")
    );
}

/// The form_post page: action, fields and a CSP that allows its one script and the post.
async fn form_post_page(browser: &Browser, url: &str) -> (String, Vec<(String, String)>) {
    let resp = browser.get(url).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get(LOCATION).is_none());
    let csp = resp.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp")
        .to_owned();
    let html = resp.text().await.expect("html");
    let script = html
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("inline script");
    let hash = tollgate_core::jose::sha256_b64url(script.as_bytes())
        .replace('-', "+")
        .replace('_', "/");
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}='")),
        "{csp}"
    );
    assert!(csp.contains("form-action 'self' http://127.0.0.1"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form action")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/");
    assert_eq!(action, REDIRECT);
    let fields = ["code", "state", "iss", "error", "error_description"]
        .iter()
        .filter_map(|n| hidden(&html, n).map(|v| ((*n).to_owned(), v)))
        .collect();
    (html, fields)
}

async fn form_post_mode_posts_the_response(backend: Backend) {
    let Some((app, client, _)) = code_flow(backend, "post@example.com").await else {
        return;
    };
    let browser = consented(&app, &client, "post@example.com").await;
    let (_, fields) = form_post_page(&browser, &url_in_mode(&client, "form_post", &[])).await;
    assert_eq!(get(&fields, "state"), Some("st 1"));
    assert_eq!(get(&fields, "iss"), Some(app.base.as_str()));
    let code = get(&fields, "code").expect("code field");
    json(redeem(&app, &client, code, Some(VERIFIER)).await, 200).await;

    // Errors are posted the same way.
    let url = url_in_mode(&client, "form_post", &[("prompt", "bogus")]);
    let (_, fields) = form_post_page(&browser, &url).await;
    assert_eq!(get(&fields, "error"), Some("invalid_request"));
    assert_eq!(get(&fields, "iss"), Some(app.base.as_str()));
    assert_eq!(get(&fields, "state"), Some("st 1"));

    // Before the redirect URI is trusted nothing is posted anywhere: an error page.
    let url = url_in_mode(&client, "form_post", &[]).replace(
        &form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fevil.example%2Fcb",
    );
    let resp = browser.get(&url).await;
    assert_eq!(resp.status(), 400);
    assert!(!resp.text().await.expect("html").contains("evil.example"));
}

/// OIDC Core 3.1.2.1 prompt values: `select_account` (one account per session) signs in again,
/// `consent` asks again, unknown values and `none` with others are `invalid_request`.
async fn prompt_values_follow_oidc_core(backend: Backend) {
    let Some((app, client, _)) = code_flow(backend, "prompt@example.com").await else {
        return;
    };
    let browser = consented(&app, &client, "prompt@example.com").await;
    let doc = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query", "fragment", "form_post"])
    );
    assert_eq!(
        doc["prompt_values_supported"],
        serde_json::json!(["none", "login", "consent", "select_account"])
    );

    let Visit::Page { url, .. } = browser
        .visit(&url_in_mode(
            &client,
            "query",
            &[("prompt", "select_account")],
        ))
        .await
    else {
        panic!("select_account shows the sign-in page")
    };
    assert!(url.contains("/login"), "{url}");

    let Visit::Page { html, .. } = browser
        .visit(&url_in_mode(&client, "query", &[("prompt", "consent")]))
        .await
    else {
        panic!("consent shows the consent page")
    };
    assert!(html.contains("id=\"approve\""));

    for prompt in ["bogus", "none select_account", "none consent"] {
        let Visit::Left(back) = browser
            .visit(&url_in_mode(&client, "query", &[("prompt", prompt)]))
            .await
        else {
            panic!("{prompt}: a redirected error")
        };
        assert_eq!(
            query_param(&back, "error").as_deref(),
            Some("invalid_request"),
            "{prompt}"
        );
        app.assert_iss(&back);
    }
}

on_both_backends!(
    fragment_mode_puts_the_response_in_the_fragment,
    form_post_mode_posts_the_response,
    prompt_values_follow_oidc_core,
);
