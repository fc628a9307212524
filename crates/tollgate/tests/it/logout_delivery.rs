//! OpenID Connect Back-Channel Logout 1.0 and logout settings over real HTTP: delivery retried
//! on the server's clock, a logout on a second node ending a session made on the first, and
//! the logout URIs set by dynamic registration, the CLI and the admin API.

use std::time::Duration;

use serde_json::Value;
use tollgate_core::model::ClientLogout;

use crate::cli::tollgate;
use crate::helpers::{
    Backend, Browser, REDIRECT, TestApp, TestClient, eventually, json, jwt_claims, location,
    query_param, spawn_app,
};
use crate::logout::{
    BYE, BackChannel, end_session_url, logout_client, logout_settings, sign_in_to, signed_in_rp,
    silent_authorize, verify_logout_token,
};
use tollgate_testkit::on_both_backends;

/// `rp` got one logout token: it verifies for `c` and names the session of `id_token`.
async fn told_of_logout(app: &TestApp, rp: &BackChannel, c: &TestClient, id_token: &str) {
    let got = rp.wait_for(1).await;
    let claims = verify_logout_token(app, &got[0], c.id.as_str()).await;
    assert_eq!(claims["sid"], jwt_claims(id_token)["sid"]);
}

/// The back-channel endpoint fails first; the server retries on its clock and delivers.
async fn back_channel_is_retried(backend: Backend) {
    let rp = BackChannel::start(1).await;
    let settings = logout_settings(&[], Some(&rp));
    let Some((app, c, b, tokens)) = signed_in_rp(backend, settings, "retry@example.com").await
    else {
        return;
    };
    let id = jwt_claims(tokens["id_token"].as_str().unwrap());
    let hint = tokens["id_token"].as_str().unwrap();
    let resp = b
        .get(&end_session_url(&app.base, &[("id_token_hint", hint)]))
        .await;
    assert_eq!(resp.status(), 200);
    let first = eventually(Duration::from_secs(10), || async { rp.attempts() >= 1 }).await;
    assert!(first.is_some(), "the first attempt is made at once");
    let queued = eventually(Duration::from_secs(10), || async {
        app.server.engine.pending_logouts() == 1
    })
    .await;
    assert!(queued.is_some(), "queued for a retry");
    // Nothing more until the server's clock reaches the retry.
    assert_eq!(rp.attempts(), 1);
    app.advance(tollgate_core::backchannel::RETRY_AFTER[0]);
    let got = rp.wait_for(1).await;
    assert_eq!(rp.attempts(), 2);
    let claims = verify_logout_token(&app, &got[0], c.id.as_str()).await;
    assert_eq!(claims["sid"], id["sid"]);
    assert_eq!(claims["sub"], id["sub"]);
    assert_eq!(app.server.engine.pending_logouts(), 0);
}

/// A session made on node A ends when the logout lands on node B (same database).
async fn logout_on_another_node(backend: Backend) {
    let Some(a) = spawn_app(backend).await else {
        return;
    };
    let b_node = a.second_node(|_| {}).await;
    let rp = BackChannel::start(0).await;
    let c = logout_client(&a, logout_settings(&[BYE], Some(&rp))).await;
    a.user("nodes@example.com").await;
    // One browser: cookies are per host, so it holds the session for both nodes.
    let browser = Browser::new(&a);
    let tokens = sign_in_to(&a, &browser, &c, "openid read", "nodes@example.com").await;
    let hint = tokens["id_token"].as_str().unwrap();
    b_node.server.engine.sync().await.expect("sync");
    let resp = browser
        .get(&end_session_url(
            &b_node.base,
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", BYE),
                ("state", "x"),
            ],
        ))
        .await;
    assert_eq!(resp.status(), 303, "node B knows the client and the key");
    assert_eq!(location(&resp), format!("{BYE}?state=x"));
    let silent = silent_authorize(&browser, &a.base, &c).await;
    assert_eq!(
        query_param(&silent, "error").as_deref(),
        Some("login_required"),
        "ended on node A too"
    );
    // Node B found which clients the session (made on A) signed in to.
    told_of_logout(&a, &rp, &c, hint).await;
}

/// Operators set the logout URIs through the admin API; bad ones are refused.
async fn admin_api_sets_logout_uris(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = logout_client(&app, ClientLogout::default()).await;
    let url = app.url(&format!("/v1/Account/OAuthApps/{}", c.id));
    let auth = (app.account.sid.as_str().to_owned(), app.auth_token.clone());
    let send = |body: Value| {
        app.http
            .post(url.clone())
            .basic_auth(&auth.0, Some(&auth.1))
            .json(&body)
            .send()
    };
    let ok = send(serde_json::json!({
        "post_logout_redirect_uris": [BYE],
        "backchannel_logout_uri": "http://127.0.0.1:9/bc"
    }))
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["post_logout_redirect_uris"], serde_json::json!([BYE]));
    assert_eq!(v["backchannel_logout_uri"], "http://127.0.0.1:9/bc");
    for bad in [
        serde_json::json!({"post_logout_redirect_uris": ["not a url"]}),
        serde_json::json!({"post_logout_redirect_uris": ["https://a.example/x#frag"]}),
        serde_json::json!({"backchannel_logout_uri": "ftp://a.example/bc"}),
    ] {
        let resp = send(bad.clone()).await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
    }
    let cleared: Value = send(serde_json::json!({"backchannel_logout_uri": ""}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(cleared.get("backchannel_logout_uri").is_none(), "{cleared}");
}

/// A dynamically registered client's logout metadata works as an operator's does.
async fn registered_client_logs_out(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    crate::registration::set_policy(&app, tollgate_core::model::RegistrationPolicy::Token).await;
    let iat = crate::registration::initial_access_token(&app, 1).await;
    let rp = BackChannel::start(0).await;
    let body = serde_json::json!({
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code"],
        "scope": "read",
        "post_logout_redirect_uris": [BYE],
        "backchannel_logout_uri": rp.url,
    });
    let registered = json(
        crate::registration::register(&app, Some(&iat), &body).await,
        201,
    )
    .await;
    assert_eq!(
        registered["post_logout_redirect_uris"],
        serde_json::json!([BYE])
    );
    let c = TestClient {
        id: tollgate_core::ids::ClientId::parse(registered["client_id"].as_str().unwrap()).unwrap(),
        secret: registered["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    app.user("dcr@example.com").await;
    let b = Browser::new(&app);
    let tokens = sign_in_to(&app, &b, &c, "openid read", "dcr@example.com").await;
    let hint = tokens["id_token"].as_str().unwrap();
    let resp = b
        .get(&end_session_url(
            &app.base,
            &[("id_token_hint", hint), ("post_logout_redirect_uri", BYE)],
        ))
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), BYE);
    told_of_logout(&app, &rp, &c, hint).await;
}

/// `tollgate client create` and `tollgate client set-logout` set the logout URIs.
async fn cli_sets_logout_uris(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let account = app.account.sid.to_string();
    let (ok, created) = tollgate(
        &app,
        &[
            "client",
            "create",
            "--name",
            "rp",
            "--account",
            &account,
            "--grant",
            "authorization_code",
            "--redirect-uri",
            REDIRECT,
            "--post-logout-redirect-uri",
            BYE,
            "--backchannel-logout-uri",
            "https://rp.example/backchannel",
        ],
    )
    .await;
    assert!(ok, "{created}");
    assert_eq!(
        created["post_logout_redirect_uris"],
        serde_json::json!([BYE])
    );
    assert_eq!(
        created["backchannel_logout_uri"],
        "https://rp.example/backchannel"
    );
    let id = created["client_id"].as_str().unwrap().to_owned();
    let (ok, changed) = tollgate(
        &app,
        &[
            "client",
            "set-logout",
            &id,
            "--post-logout-redirect-uri",
            "https://rp.example/bye",
            "--clear-backchannel-logout-uri",
        ],
    )
    .await;
    assert!(ok, "{changed}");
    assert_eq!(
        changed["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example/bye"])
    );
    assert!(changed.get("backchannel_logout_uri").is_none(), "{changed}");
    let (ok, refused) = tollgate(
        &app,
        &[
            "client",
            "set-logout",
            &id,
            "--backchannel-logout-uri",
            "http://10.0.0.1/bc",
        ],
    )
    .await;
    assert!(!ok, "a private address is refused: {refused}");
    // The running server sees the change.
    app.server.engine.sync().await.expect("sync");
    let id = tollgate_core::ids::ClientId::parse(&id).unwrap();
    let c = app
        .server
        .engine
        .find_client(&id)
        .await
        .unwrap()
        .expect("client");
    assert_eq!(
        c.logout.post_logout_redirect_uris,
        ["https://rp.example/bye"]
    );
}

/// Signing out another session from the account page is a logout too: its clients are told.
async fn account_page_sign_out_elsewhere_is_a_logout(backend: Backend) {
    let rp = BackChannel::start(0).await;
    let settings = logout_settings(&[], Some(&rp));
    let Some((app, c, laptop, tokens)) =
        signed_in_rp(backend, settings, "elsewhere@example.com").await
    else {
        return;
    };
    let phone = Browser::new(&app);
    let ended = phone
        .post_from_account(
            Some("elsewhere@example.com"),
            "/account/sessions/end",
            &[("session", "others")],
        )
        .await;
    assert_eq!(ended.status(), 200);
    told_of_logout(&app, &rp, &c, tokens["id_token"].as_str().unwrap()).await;
    let silent = silent_authorize(&laptop, &app.base, &c).await;
    assert_eq!(
        query_param(&silent, "error").as_deref(),
        Some("login_required")
    );
}

on_both_backends!(
    account_page_sign_out_elsewhere_is_a_logout,
    back_channel_is_retried,
    logout_on_another_node,
    admin_api_sets_logout_uris,
    registered_client_logs_out,
    cli_sets_logout_uris,
);
