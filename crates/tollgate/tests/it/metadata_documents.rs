//! Client ID Metadata Documents: a `client_id` that is an `https` URL is resolved by fetching
//! its document from a loopback HTTPS server the outbound fetcher trusts; the document is
//! cached for its `max-age` (clamped) on the server's clock, and works through PAR too;
//! documents that misname themselves, use a shared secret or come from a host the operator did
//! not allow are refused with an error page at authorize (never a redirect) and
//! `invalid_client` at the token endpoint.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tollgate_core::authorize::s256;

use crate::helpers::documents::DocumentServer;
use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, VERIFIER, Visit, json as json_of, location, query_param,
    spawn_app, spawn_app_with,
};
use tollgate_testkit::on_both_backends;

const DOC: &str = "/clients/assistant.json";

async fn app_with_documents(
    backend: Backend,
    docs: &DocumentServer,
    hosts: &[&str],
) -> Option<TestApp> {
    let ca = docs.ca_file.clone();
    let hosts: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    spawn_app_with(backend, move |c| {
        c.engine.client_metadata_documents = true;
        c.engine.client_metadata_hosts = hosts;
        c.engine.client_metadata_cache_min_secs = 60;
        c.engine.client_metadata_cache_max_secs = 3600;
        c.outbound_ca_file = Some(ca);
    })
    .await
}

fn document(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Desk Assistant",
        "client_uri": "https://assistant.example/",
        "redirect_uris": [REDIRECT, "http://127.0.0.1/other"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

fn authorize_url(client_id: &str, redirect_uri: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid profile")
        .append_pair("state", "s-1")
        .append_pair("code_challenge", &s256(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    format!("/oauth/authorize?{}", q.finish())
}

/// The authorization request ends on an error page of ours: never at the client.
async fn refused_at_authorize(browser: &Browser, url: &str) -> String {
    match browser.visit(url).await {
        Visit::Page { status, html, url } => {
            assert_eq!(status, StatusCode::BAD_REQUEST, "error page at {url}");
            html
        }
        Visit::Left(to) => panic!("redirected to {to} for a client nobody verified"),
    }
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.post_form("/oauth/token", form).await
}

/// A refresh by the public client `client_id`.
async fn public_refresh(app: &TestApp, client_id: &str, refresh: &str) -> reqwest::Response {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", client_id),
    ];
    token(app, &form).await
}

async fn document_client_signs_in_and_is_cached(backend: Backend) {
    let docs = DocumentServer::start().await;
    let Some(app) = app_with_documents(backend, &docs, &["127.0.0.1"]).await else {
        return;
    };
    let client_id = docs.url(DOC);
    docs.publish(DOC, &document(&client_id), Some("public, max-age=600"));
    let meta = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    app.user("ada@example.com").await;

    let browser = Browser::new(&app);
    let Visit::Page { html, .. } = browser
        .visit_as(&authorize_url(&client_id, REDIRECT), "ada@example.com")
        .await
    else {
        panic!("consent page expected");
    };
    // The consent page names the host the client lives on and that nobody registered it.
    assert!(html.contains("Desk Assistant"), "{html}");
    let shown = format!(
        r#"<strong id="client-host">127.0.0.1:{}</strong>"#,
        docs.port
    );
    assert!(html.contains(&shown), "{html}");
    assert!(html.contains("not an application registered"), "{html}");
    assert!(html.contains("https://assistant.example/"), "{html}");
    let back = location(&browser.decide(&html, "approve").await).to_owned();
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("s-1"));
    let code = query_param(&back, "code").expect("code");

    let resp = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    let tokens = json_of(resp, 200).await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    // Authorize, consent and token all used the one fetch.
    assert_eq!(docs.hits(DOC), 1);

    // Within max-age: no fetch. After it: fetched again.
    app.clock.advance(590);
    let resp = public_refresh(&app, &client_id, refresh).await;
    let tokens = json_of(resp, 200).await;
    assert_eq!(docs.hits(DOC), 1);
    app.clock.advance(20);
    let refresh = tokens["refresh_token"].as_str().expect("rotated");
    let resp = public_refresh(&app, &client_id, refresh).await;
    json_of(resp, 200).await;
    assert_eq!(docs.hits(DOC), 2);

    // A pushed authorization request (RFC 9126) from the same client, whose redirect URI is
    // held to the document's list as well.
    let challenge = s256(VERIFIER);
    let push = |redirect: &'static str| {
        let client_id = client_id.clone();
        let challenge = challenge.clone();
        let app = &app;
        async move {
            let form = [
                ("client_id", client_id.as_str()),
                ("response_type", "code"),
                ("redirect_uri", redirect),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("state", "s-2"),
            ];
            app.post_form("/oauth/par", &form).await
        }
    };
    let refused = json_of(push("http://127.0.0.1/elsewhere").await, 400).await;
    assert_eq!(refused["error"], "invalid_request");
    let pushed = json_of(push(REDIRECT).await, 201).await;
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &client_id).append_pair(
        "request_uri",
        pushed["request_uri"].as_str().expect("request_uri"),
    );
    let back = browser
        .authorize(
            &format!("/oauth/authorize?{}", q.finish()),
            "ada@example.com",
        )
        .await;
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("s-2"));

    // The client is stored as a dynamically registered one, marked as a document's.
    let id = tollgate_core::admin::document_client_id(&client_id).expect("id");
    let stored = app.stored_registration(&id).await;
    assert_eq!(
        stored.via,
        tollgate_core::model::RegisteredVia::MetadataDocument
    );
    assert_eq!(stored.registered_from.as_deref(), Some(client_id.as_str()));
}

/// A made-up code redeemed for the document `client_id`: `invalid_client`.
async fn assert_token_refuses(app: &TestApp, client_id: &str) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "whatever"),
        ("client_id", client_id),
        ("code_verifier", VERIFIER),
    ];
    let resp = token(app, &form).await;
    assert_eq!(json_of(resp, 401).await["error"], "invalid_client");
}

async fn bad_documents_are_refused(backend: Backend) {
    let docs = DocumentServer::start().await;
    let Some(app) = app_with_documents(backend, &docs, &["127.0.0.1"]).await else {
        return;
    };
    let browser = Browser::new(&app);

    // Its client_id is not the URL it was fetched from.
    let misnamed = docs.url("/misnamed.json");
    docs.publish("/misnamed.json", &document(&docs.url("/other.json")), None);
    refused_at_authorize(&browser, &authorize_url(&misnamed, REDIRECT)).await;
    assert_token_refuses(&app, &misnamed).await;

    // A shared-secret authentication method.
    let secret = docs.url("/secret.json");
    let mut doc = document(&secret);
    doc["token_endpoint_auth_method"] = "client_secret_basic".into();
    docs.publish("/secret.json", &doc, None);
    refused_at_authorize(&browser, &authorize_url(&secret, REDIRECT)).await;

    // private_key_jwt without keys.
    let keyless = docs.url("/keyless.json");
    let mut doc = document(&keyless);
    doc["token_endpoint_auth_method"] = "private_key_jwt".into();
    docs.publish("/keyless.json", &doc, None);
    refused_at_authorize(&browser, &authorize_url(&keyless, REDIRECT)).await;

    // A redirect URI the document does not list (not even another loopback port).
    let good = docs.url(DOC);
    docs.publish(DOC, &document(&good), None);
    for uri in ["http://127.0.0.1/elsewhere", "http://127.0.0.1:8765/cb"] {
        let html = refused_at_authorize(&browser, &authorize_url(&good, uri)).await;
        assert!(html.contains("not listed"), "{html}");
    }

    // Unreachable: nothing published there.
    let missing = docs.url("/missing.json");
    refused_at_authorize(&browser, &authorize_url(&missing, REDIRECT)).await;

    // URLs that are no client id: a dot segment, no path.
    for bad in [
        format!(
            "https://127.0.0.1:{}/a/../clients/assistant.json",
            docs.port
        ),
        format!("https://127.0.0.1:{}/", docs.port),
    ] {
        refused_at_authorize(&browser, &authorize_url(&bad, REDIRECT)).await;
    }
    assert_eq!(docs.hits("/a/../clients/assistant.json"), 0);
}

async fn hosts_outside_the_allow_list_are_never_fetched(backend: Backend) {
    let docs = DocumentServer::start().await;
    let Some(app) = app_with_documents(backend, &docs, &["*.clients.example"]).await else {
        return;
    };
    let client_id = docs.url(DOC);
    docs.publish(DOC, &document(&client_id), None);
    let browser = Browser::new(&app);
    refused_at_authorize(&browser, &authorize_url(&client_id, REDIRECT)).await;
    assert_token_refuses(&app, &client_id).await;
    assert_eq!(docs.hits(DOC), 0, "never fetched");
}

async fn off_unless_enabled(backend: Backend) {
    let docs = DocumentServer::start().await;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let meta = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(meta["client_id_metadata_document_supported"], false);
    let client_id = docs.url(DOC);
    docs.publish(DOC, &document(&client_id), None);
    let browser = Browser::new(&app);
    refused_at_authorize(&browser, &authorize_url(&client_id, REDIRECT)).await;
    assert_eq!(docs.hits(DOC), 0);
}

on_both_backends!(
    document_client_signs_in_and_is_cached,
    bad_documents_are_refused,
    hosts_outside_the_allow_list_are_never_fetched,
    off_unless_enabled,
);
