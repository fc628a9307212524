//! RFC 7592 management of registered clients (read, replace, delete with and without the
//! registration access token), the registration CLI, and a client registered on one node
//! working at once on another.

use serde_json::{Value, json};
use tollgate_core::model::RegistrationPolicy;

use crate::helpers::{Backend, REDIRECT, TestApp, json as json_of, spawn_app};
use crate::registration::{initial_access_token, register, set_policy};
use tollgate_testkit::on_both_backends;

async fn with_token(
    app: &TestApp,
    method: reqwest::Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut req = app.http.request(method, uri);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.expect("request")
}

async fn unauthorized(resp: reqwest::Response) {
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

async fn read_update_delete(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    set_policy(&app, RegistrationPolicy::Token).await;
    let iat = initial_access_token(&app, 1).await;
    let metadata = json!({
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "client_name": "Reporting",
        "client_uri": "https://reports.example/",
        "logo_uri": "https://reports.example/logo.png",
        "contacts": ["ops@reports.example"],
        "scope": "read write",
        "post_logout_redirect_uris": ["https://reports.example/bye"],
        "backchannel_logout_uri": "https://reports.example/logout",
        "software_id": "reports",
        "some_extension_we_do_not_know": true,
    });
    let created = json_of(register(&app, Some(&iat), &metadata).await, 201).await;
    let uri = created["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert_eq!(uri, app.url(&format!("/oauth/register/{id}")));
    let token = created["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(created.get("some_extension_we_do_not_know").is_none());

    // Read: only with the registration access token.
    let read = with_token(&app, reqwest::Method::GET, &uri, Some(&token), None).await;
    let read = json_of(read, 200).await;
    for field in [
        "client_id",
        "client_name",
        "redirect_uris",
        "grant_types",
        "token_endpoint_auth_method",
        "scope",
        "client_uri",
        "logo_uri",
        "contacts",
        "post_logout_redirect_uris",
        "backchannel_logout_uri",
        "software_id",
    ] {
        assert_eq!(read[field], created[field], "{field}");
    }
    assert!(
        read.get("client_secret").is_none(),
        "the secret is shown once"
    );
    unauthorized(with_token(&app, reqwest::Method::GET, &uri, None, None).await).await;
    unauthorized(with_token(&app, reqwest::Method::GET, &uri, Some("wrong"), None).await).await;
    let unknown = app.url("/oauth/register/OQ00000000000000000000000000000000");
    unauthorized(with_token(&app, reqwest::Method::GET, &unknown, Some(&token), None).await).await;
    unauthorized(
        with_token(
            &app,
            reqwest::Method::GET,
            &app.url("/oauth/register/%FF"),
            Some(&token),
            None,
        )
        .await,
    )
    .await;

    // Replace: the token is required, the body names the client, the token rotates.
    let mut update = json!({
        "client_id": id,
        "redirect_uris": ["https://reports.example/cb"],
        "grant_types": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "client_name": "Reporting v2",
        "scope": "read",
    });
    unauthorized(with_token(&app, reqwest::Method::PUT, &uri, None, Some(&update)).await).await;
    for (field, value, error) in [
        (
            "client_id",
            json!("OQ00000000000000000000000000000000"),
            "invalid_client_metadata",
        ),
        ("client_secret", json!("not it"), "invalid_client_metadata"),
        (
            "redirect_uris",
            json!(["http://reports.example/cb"]),
            "invalid_redirect_uri",
        ),
    ] {
        let mut bad = update.clone();
        bad[field] = value;
        let resp = with_token(&app, reqwest::Method::PUT, &uri, Some(&token), Some(&bad)).await;
        assert_eq!(json_of(resp, 400).await["error"], error, "{field}");
    }
    update["client_secret"] = json!(secret);
    let resp = with_token(
        &app,
        reqwest::Method::PUT,
        &uri,
        Some(&token),
        Some(&update),
    )
    .await;
    let updated = json_of(resp, 200).await;
    assert_eq!(updated["client_name"], "Reporting v2");
    assert_eq!(
        updated["redirect_uris"],
        json!(["https://reports.example/cb"])
    );
    assert_eq!(updated["scope"], "read");
    assert!(
        updated.get("client_uri").is_none(),
        "omitted metadata is cleared"
    );
    let rotated = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, token);
    unauthorized(with_token(&app, reqwest::Method::GET, &uri, Some(&token), None).await).await;
    let token_resp = app.client_credentials(&id, &secret).await;
    assert_eq!(
        json_of(token_resp, 200).await["scope"],
        "read",
        "the new scope applies"
    );

    // Delete: the token is required; afterwards the client is gone.
    unauthorized(with_token(&app, reqwest::Method::DELETE, &uri, None, None).await).await;
    let resp = with_token(&app, reqwest::Method::DELETE, &uri, Some(&rotated), None).await;
    assert_eq!(resp.status(), 204);
    unauthorized(with_token(&app, reqwest::Method::GET, &uri, Some(&rotated), None).await).await;
    assert_eq!(app.client_credentials(&id, &secret).await.status(), 401);
}

/// A client registered on one node authenticates on another at once, and open registration
/// lands in the configured account on a server with several.
async fn registered_on_one_node_works_on_another(backend: Backend) {
    let Some(a) = spawn_app(backend).await else {
        return;
    };
    set_policy(&a, RegistrationPolicy::Open).await;
    let account = a.account.sid.to_string();
    // The second node creates a second account, so "the only account" no longer exists.
    let b = a
        .second_node(|c| {
            c.registration_account = Some(account.clone());
        })
        .await;
    assert_ne!(b.account.sid, a.account.sid);

    let iat = initial_access_token(&a, 1).await;
    let body = json!({"grant_types": ["client_credentials"], "scope": "read"});
    let created = json_of(register(&a, Some(&iat), &body).await, 201).await;
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    // No waiting: the other node reads an unknown client through from the store.
    assert_eq!(b.client_credentials(id, secret).await.status(), 200);

    // Open registration on the second node lands in the configured account, and node A
    // (which has no configured account and now two accounts) refuses anonymous registration.
    let created = json_of(
        register(&b, None, &json!({"redirect_uris": [REDIRECT]})).await,
        201,
    )
    .await;
    let id = tollgate_core::ids::ClientId::parse(created["client_id"].as_str().unwrap()).unwrap();
    let client = a.server.admin().client(&id).await.unwrap();
    assert_eq!(client.account_sid, a.account.sid);
    assert_eq!(
        register(&a, None, &json!({"redirect_uris": [REDIRECT]}))
            .await
            .status(),
        401
    );
    let uri = created["registration_client_uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&a.base),
        "the public issuer names the configuration endpoint"
    );
    let token = created["registration_access_token"].as_str().unwrap();
    let read = a
        .http
        .get(a.url(&format!("/oauth/register/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "read on the other node");
}

async fn the_cli_sets_policies_and_issues_tokens(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let run = |args: &'static [&'static str]| {
        let app = &app;
        async move {
            let out = app.cli(args).await;
            // A value clap refuses is reported on stderr, with nothing on stdout.
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            (out.status.success(), v)
        }
    };
    let (ok, v) = run(&["registration", "policy"]).await;
    assert!(ok);
    assert_eq!(v["policy"], "off");
    let (ok, v) = run(&["registration", "token"]).await;
    assert!(!ok, "no tokens while off");
    assert!(v["error"].as_str().unwrap().contains("off"), "{v}");
    let (ok, v) = run(&["registration", "policy", "bogus"]).await;
    assert!(!ok, "{v}");
    let (ok, v) = run(&["registration", "policy", "token"]).await;
    assert!(ok);
    assert_eq!(v["account_sid"], app.account.sid.as_str());
    let (ok, v) = run(&["registration", "token", "--uses", "2", "--ttl", "60"]).await;
    assert!(ok, "{v}");
    let token = v["initial_access_token"].as_str().unwrap();
    let resp = register(&app, Some(token), &json!({"redirect_uris": [REDIRECT]})).await;
    assert_eq!(resp.status(), 201);
}

/// Registered apps are marked in the console's list, and an administrator deletes them there.
async fn the_console_marks_and_deletes_registered_apps(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    set_policy(&app, RegistrationPolicy::Open).await;
    let metadata = json!({"redirect_uris": [REDIRECT], "client_name": "Self-registered"});
    let created = json_of(register(&app, None, &metadata).await, 201).await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let token = created["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = created["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed_kind = app.code_client(true).await;

    app.admin_user("admin@example.com", None).await;
    let b = crate::console::console_browser(&app, "admin@example.com").await;
    let list = b.get("/console/apps").await.text().await.unwrap();
    let row = |sid: &str| {
        let at = list.find(&format!("<code>{sid}</code>")).expect("listed");
        list[at..at + list[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(row(&id).contains("Public (registered)"), "{}", row(&id));
    assert!(!row(listed_kind.id.as_str()).contains("registered"));

    let detail = b
        .get(&format!("/console/apps/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::hidden(&detail, "csrf").expect("csrf");
    let resp = b
        .post(
            &format!("/console/apps/{id}/delete"),
            &[("csrf", csrf.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    unauthorized(with_token(&app, reqwest::Method::GET, &uri, Some(&token), None).await).await;
}

on_both_backends!(
    the_console_marks_and_deletes_registered_apps,
    read_update_delete,
    registered_on_one_node_works_on_another,
    the_cli_sets_policies_and_issues_tokens,
);
