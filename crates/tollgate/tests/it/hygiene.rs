//! Response hygiene the penetration test asked for: account data is never cached, and
//! `/metrics` can be closed to all but the scraper.

use crate::helpers::{Backend, spawn_app, spawn_app_with};
use tollgate_testkit::on_both_backends;

async fn admin_api_answers_are_not_cached(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let sid = app.account.sid.to_string();
    let creds = (sid.as_str(), app.auth_token.as_str());
    let get = |path: &'static str| {
        app.http
            .get(app.url(path))
            .basic_auth(creds.0, Some(creds.1))
            .send()
    };
    for path in ["/v1/Account/OAuthApps", "/v1/Account/Users"] {
        let resp = get(path).await.expect("get");
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["cache-control"], "no-store", "{path}");
    }
    let created = app
        .http
        .post(app.url("/v1/Account/Users"))
        .basic_auth(creds.0, Some(creds.1))
        .json(&serde_json::json!({"email": "nocache@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
}

async fn metrics_can_require_a_bearer_token(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.metrics_token = Some("scrape-Secret-1".into());
    })
    .await
    else {
        return;
    };
    let metrics = |token: Option<&'static str>| {
        let mut req = app.http.get(app.url("/metrics"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let open = metrics(None).await.expect("metrics");
    assert_eq!(open.status(), 401);
    assert_eq!(open.headers()["www-authenticate"], "Bearer");
    assert_eq!(metrics(Some("wrong")).await.expect("metrics").status(), 401);
    let ok = metrics(Some("scrape-Secret-1")).await.expect("metrics");
    assert_eq!(ok.status(), 200);
    // Without the setting `/metrics` stays open, as before.
    let Some(plain) = spawn_app(backend).await else {
        return;
    };
    let resp = plain
        .http
        .get(plain.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), 200);
}

/// Account A's administrator gets the same answer for an address its own user holds and for
/// one another tenant's user holds: nothing tells the two apart, and the address is not echoed.
async fn a_taken_email_reads_the_same_across_tenants(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let admin = app.server.admin();
    let (other, _) = admin.create_account(None, None).await.expect("account");
    for (email, account) in [
        ("mine@example.com", app.account.sid.clone()),
        ("theirs@b-corp.example", other.sid.clone()),
    ] {
        admin
            .create_user(tollgate_core::admin::UserSpec {
                email: email.into(),
                password: "correct horse battery".into(),
                account_sid: Some(account),
                ..Default::default()
            })
            .await
            .expect("user");
    }
    let sid = app.account.sid.to_string();
    let mut answers = Vec::new();
    for email in ["mine@example.com", "theirs@b-corp.example"] {
        let resp = app
            .http
            .post(app.url("/v1/Account/Users"))
            .basic_auth(&sid, Some(&app.auth_token))
            .json(&serde_json::json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .expect("post");
        let status = resp.status().as_u16();
        let mut body: serde_json::Value = resp.json().await.expect("json");
        assert!(
            !body.to_string().contains(email),
            "the address is not echoed: {body}"
        );
        // Twilio error bodies carry no per-request fields besides these.
        if let Some(o) = body.as_object_mut() {
            o.remove("more_info");
        }
        answers.push((status, body));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 400);
}

on_both_backends!(
    a_taken_email_reads_the_same_across_tenants,
    admin_api_answers_are_not_cached,
    metrics_can_require_a_bearer_token
);
