//! RFC 8628 end to end: codes, every polling answer on every token route, the `/device` page.

use serde_json::Value;

use tollgate_core::model::ACR_PASSWORD;

use crate::helpers::{Backend, jwt_claims, refresh, spawn_app, spawn_app_with};
use crate::helpers::{Browser, DEVICE_GRANT, Visit, hidden};
use tollgate_testkit::on_both_backends;

async fn device_flow_on_every_route(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let c = app.device_client().await;
    app.user("tv@example.com").await;
    let browser = Browser::new(&app);

    // Standard: codes, pending, slow_down, approval, tokens once.
    let d = app.start_device(&c, "openid read").await;
    let user_code = d["user_code"].as_str().expect("user_code");
    assert!(user_code.len() == 9 && user_code.as_bytes()[4] == b'-');
    assert!(
        user_code
            .chars()
            .filter(|ch| *ch != '-')
            .all(|ch| "BCDFGHJKLMNPQRSTVWXZ".contains(ch))
    );
    assert_eq!(d["verification_uri"], app.url("/device"));
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}?user_code={user_code}", app.url("/device"))
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 5);
    let device_code = d["device_code"].as_str().expect("device_code");
    let (status, body) = app.poll_device(&c, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("authorization_pending"))
    );
    let (status, body) = app.poll_device(&c, device_code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("slow_down")));

    // The user types the code in lower case without the dash.
    let typed = user_code.replace('-', "").to_lowercase();
    let done = browser
        .answer_device(&typed, "tv@example.com", "approve")
        .await;
    assert!(done.contains("return to your device"));
    let (status, body) = app.poll_device(&c, device_code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["refresh_token"].as_str().is_some() && body["id_token"].as_str().is_some());
    let claims = app.verify_token_of(&body).await;
    assert_eq!(claims["scope"], "openid read");
    assert!(claims["sub"].as_str().is_some_and(|s| s.starts_with("US")));
    // The id token says how the person signed in on /device, and so do refreshed ones.
    let id = jwt_claims(body["id_token"].as_str().expect("id token"));
    assert_eq!(
        (&id["amr"], &id["acr"]),
        (
            &serde_json::json!(["pwd"]),
            &serde_json::json!(ACR_PASSWORD)
        ),
        "{id}"
    );
    let refreshed: Value = refresh(&app, &c, body["refresh_token"].as_str().expect("rt"))
        .await
        .json()
        .await
        .expect("refreshed");
    let id = jwt_claims(refreshed["id_token"].as_str().expect("id token"));
    assert_eq!(id["amr"], serde_json::json!(["pwd"]), "{id}");
    let (status, body) = app.poll_device(&c, device_code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "tokens are issued once"
    );

    // Twilio v1: repeated Scopes, account credentials instead of a client secret, 201; polling
    // on /v1/token with DeviceCode and DeviceId.
    let resp = app
        .post_basic(
            "/v1/device/code",
            (app.account.sid.as_str(), &app.auth_token),
            &[
                ("ClientSid", c.id.as_str()),
                ("Scopes", "openid"),
                ("Scopes", "read"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 201);
    let d: Value = resp.json().await.expect("json");
    let v1_poll = |code: String| {
        let app = &app;
        let c = &c;
        async move {
            let resp = app
                .post_form(
                    "/v1/token",
                    &[
                        ("GrantType", DEVICE_GRANT),
                        ("ClientSid", c.id.as_str()),
                        ("ClientSecret", &c.secret),
                        ("DeviceCode", &code),
                        ("DeviceId", "living-room-tv"),
                    ],
                )
                .await;
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let code = d["device_code"].as_str().expect("code").to_owned();
    let (status, body) = v1_poll(code.clone()).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(20001)));
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("authorization_pending:"))
    );
    browser
        .answer_started(&d, "tv@example.com", "approve")
        .await;
    let (status, body) = v1_poll(code).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["access_token_expires_at"].as_str().is_some());

    // Twilio v2 polling, and the user denying.
    let d = app.start_device(&c, "read").await;
    browser.answer_started(&d, "tv@example.com", "deny").await;
    let resp = app
        .post_form(
            "/v2/token",
            &[
                ("grant_type", DEVICE_GRANT),
                ("device_code", d["device_code"].as_str().expect("dc")),
                ("client_id", c.id.as_str()),
                ("client_secret", &c.secret),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("access_denied:"))
    );

    // Another client cannot poll this device code; clients without the grant cannot start one.
    let other = app.device_client().await;
    let d = app.start_device(&c, "read").await;
    let (status, body) = app.poll_started(&other, &d).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let plain = app.client().await;
    let resp = app
        .post_form(
            "/oauth/device_authorization",
            &[
                ("client_id", plain.id.as_str()),
                ("client_secret", &plain.secret),
            ],
        )
        .await;
    assert_eq!(resp.status(), 400);
    let resp = app
        .post_form(
            "/oauth/device_authorization",
            &[("client_id", c.id.as_str()), ("client_secret", "wrong")],
        )
        .await;
    assert_eq!(resp.status(), 401);
}

async fn device_codes_expire(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |cfg| cfg.engine.device_code_ttl = 1).await else {
        return;
    };
    let c = app.device_client().await;
    app.user("late@example.com").await;
    let d = app.start_device(&c, "read").await;
    app.advance(2);
    let (status, body) = app.poll_started(&c, &d).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("expired_token"))
    );
    // The page no longer accepts the code either.
    let browser = Browser::new(&app);
    let Visit::Page { status, html, .. } = browser
        .sign_in_at(
            &format!("/device?user_code={}", d["user_code"].as_str().expect("uc")),
            "late@example.com",
        )
        .await
    else {
        panic!("page")
    };
    assert_eq!(status, 400);
    assert!(html.contains("not valid or has expired"));
}

async fn wrong_user_codes_are_rate_limited(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |cfg| cfg.auth_failures_per_minute = 3).await else {
        return;
    };
    app.user("guess@example.com").await;
    let browser = Browser::new(&app);
    let Visit::Page { html, .. } = browser.sign_in_at("/device", "guess@example.com").await else {
        panic!("page")
    };
    let csrf = hidden(&html, "csrf").expect("csrf");
    for _ in 0..3 {
        let resp = browser
            .post("/device", &[("csrf", &csrf), ("user_code", "BBBB-BBBB")])
            .await;
        assert_eq!(resp.status(), 400);
    }
    let resp = browser
        .post("/device", &[("csrf", &csrf), ("user_code", "BBBB-BBBB")])
        .await;
    assert_eq!(resp.status(), 429);
    let resp = browser.post("/device", &[("user_code", "BBBB-BBBB")]).await;
    assert_eq!(resp.status(), 403, "CSRF is checked first");
}

on_both_backends!(
    device_flow_on_every_route,
    device_codes_expire,
    wrong_user_codes_are_rate_limited
);
