//! The account admin API on `/v1/Account/*`: every operation, and every way to be refused.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};
use tollgate_testkit::on_both_backends;

/// The account's apps.
const APPS: &str = "/v1/Account/OAuthApps";

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    creds: Option<(&str, &str)>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path));
    if let Some((u, p)) = creds {
        req = req.basic_auth(u, Some(p));
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json")
        },
    )
}

fn assert_auth_failed(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], 20003);
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20003"
    );
}

async fn every_operation(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let me = (app.account.sid.as_str(), app.auth_token.as_str());

    let (status, created) = call(
        &app,
        Method::POST,
        APPS,
        Some(me),
        Some(json!({
            "friendly_name": "Billing service",
            "grant_types": ["client_credentials"],
            "scopes": ["read"],
            "audiences": ["https://api.example.com"],
            "access_token_ttl": 600,
        })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let sid = created["sid"].as_str().expect("sid").to_owned();
    let app_path = format!("{APPS}/{sid}");
    let secret = created["secret"]
        .as_str()
        .expect("secret shown on create")
        .to_owned();
    assert!(sid.starts_with("OQ"));
    assert_eq!(created["account_sid"], app.account.sid.as_str());
    assert_eq!(
        created["url"],
        app.url(&format!("/v1/Account/OAuthApps/{sid}"))
    );
    assert!(
        created["date_created"]
            .as_str()
            .is_some_and(|d| d.ends_with("+0000"))
    );
    // Usable at once on this node.
    let body: Value = app
        .client_credentials(&sid, &secret)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["expires_in"], 600);

    let (status, listed) = call(&app, Method::GET, APPS, Some(me), None).await;
    assert_eq!(status, 200);
    let apps = listed["oauth_apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 1);
    assert!(apps[0].get("secret").is_none());
    let (status, fetched) = call(&app, Method::GET, &app_path, Some(me), None).await;
    assert_eq!(
        (status, fetched["friendly_name"].as_str()),
        (200, Some("Billing service"))
    );

    let (status, updated) = call(
        &app,
        Method::POST,
        &app_path,
        Some(me),
        Some(json!({"scopes": ["read", "write"]})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["scopes"], json!(["read", "write"]));
    assert_eq!(
        updated["friendly_name"], "Billing service",
        "partial update keeps the rest"
    );
    let resp = app
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &sid),
                ("client_secret", &secret),
                ("scope", "write"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);

    let (status, rotated) = call(
        &app,
        Method::POST,
        &format!("{app_path}/Secret"),
        Some(me),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let new_secret = rotated["secret"].as_str().expect("new secret").to_owned();
    assert_eq!(app.client_credentials(&sid, &secret).await.status(), 401);
    assert_eq!(
        app.client_credentials(&sid, &new_secret).await.status(),
        200
    );

    let (status, _) = call(&app, Method::DELETE, &app_path, Some(me), None).await;
    assert_eq!(status, 204);
    let (status, gone) = call(&app, Method::GET, &app_path, Some(me), None).await;
    assert_eq!((status, gone["code"].as_i64()), (404, Some(20404)));
    assert_eq!(
        app.client_credentials(&sid, &new_secret).await.status(),
        401
    );

    // Rotating the auth token: the old one stops working, the new one works.
    let (status, token) = call(&app, Method::POST, "/v1/Account/AuthToken", Some(me), None).await;
    assert_eq!(status, 200);
    let new_token = token["auth_token"].as_str().expect("auth token").to_owned();
    let (status, body) = call(&app, Method::GET, APPS, Some(me), None).await;
    assert_auth_failed(status, &body);
    let (status, _) = call(
        &app,
        Method::GET,
        APPS,
        Some((app.account.sid.as_str(), &new_token)),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

async fn refused_callers_change_nothing(backend: Backend) {
    // Enough failure budget for every refusal below (the limiter has tests of its own).
    let Some(app) = spawn_app_with(backend, |c| c.auth_failures_per_minute = 1000).await else {
        return;
    };
    let me = (app.account.sid.as_str(), app.auth_token.as_str());
    let (_, created) = call(
        &app,
        Method::POST,
        APPS,
        Some(me),
        Some(json!({"friendly_name": "Mine"})),
    )
    .await;
    let sid = created["sid"].as_str().expect("sid").to_owned();
    let (other, other_token) = app.stranger_account().await;
    let other_creds = (other.sid.as_str(), other_token.expose());
    let app_path = format!("{APPS}/{sid}");
    let secret_path = format!("{app_path}/Secret");

    let operations: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, APPS, None),
        (
            Method::POST,
            APPS,
            Some(json!({"friendly_name": "Intruder"})),
        ),
        (Method::GET, &app_path, None),
        (
            Method::POST,
            &app_path,
            Some(json!({"friendly_name": "Renamed"})),
        ),
        (Method::DELETE, &app_path, None),
        (Method::POST, &secret_path, None),
        (Method::POST, "/v1/Account/AuthToken", None),
    ];
    for (method, path, body) in &operations {
        for creds in [
            None,
            Some((app.account.sid.as_str(), "wrong-token")),
            Some(("AC00000000000000000000000000000000", "x")),
            Some(("not-a-sid", "x")),
        ] {
            let (status, resp) = call(&app, method.clone(), path, creds, body.clone()).await;
            assert_auth_failed(status, &resp);
        }
    }
    // Another account's credentials are valid but see nothing of this account.
    for (method, path, body) in operations.iter().filter(|(_, p, _)| p.contains("OQ")) {
        let (status, resp) =
            call(&app, method.clone(), path, Some(other_creds), body.clone()).await;
        assert_eq!(
            (status, resp["code"].as_i64()),
            (404, Some(20404)),
            "{method} {path}"
        );
    }
    let (_, theirs) = call(&app, Method::GET, APPS, Some(other_creds), None).await;
    assert_eq!(theirs["oauth_apps"], json!([]));

    // Nothing changed.
    let (status, mine) = call(&app, Method::GET, &app_path, Some(me), None).await;
    assert_eq!(
        (status, mine["friendly_name"].as_str()),
        (200, Some("Mine"))
    );
    let (_, listed) = call(&app, Method::GET, APPS, Some(me), None).await;
    assert_eq!(listed["oauth_apps"].as_array().map(Vec::len), Some(1));

    // Bad bodies are 400 with code 20001.
    for body in [
        json!({"friendly_name": "x", "colour": "red"}),
        json!({"grant_types": ["client_credentials"]}),
        json!({"friendly_name": "x", "public": true, "grant_types": ["client_credentials"]}),
        json!({"friendly_name": "x", "grant_types": ["password"]}),
    ] {
        let (status, resp) = call(&app, Method::POST, APPS, Some(me), Some(body.clone())).await;
        assert_eq!(
            (status, resp["code"].as_i64()),
            (400, Some(20001)),
            "{body}"
        );
    }
}

/// `POST /v1/Account/Users` with `admin: true` makes an administrator who may use the console.
async fn users_and_administrators(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let creds = Some((app.account.sid.as_str(), app.auth_token.as_str()));
    let (status, created) = call(
        &app,
        Method::POST,
        "/v1/Account/Users",
        creds,
        Some(
            json!({"email": "Boss@Example.com", "password": crate::helpers::PASSWORD,
                    "first_name": "Grace", "admin": true}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["email"], "boss@example.com");
    assert_eq!(created["admin"], true);
    assert_eq!(created["account_sid"], app.account.sid.as_str());
    assert!(created.get("password_hash").is_none() && created.get("password").is_none());
    for (body, why) in [
        (json!({"email": "x@example.com"}), "password is required"),
        (
            json!({"email": "boss@example.com", "password": "long enough"}),
            "already exists",
        ),
        (
            json!({"email": "y@example.com", "password": "short"}),
            "8 to 256",
        ),
        (
            json!({"email": "z@example.com", "password": "long enough", "role": "root"}),
            "",
        ),
    ] {
        let (status, err) = call(&app, Method::POST, "/v1/Account/Users", creds, Some(body)).await;
        assert_eq!(status, 400, "{err}");
        assert!(
            err["message"].as_str().unwrap_or_default().contains(why),
            "{err}"
        );
    }
    let (status, list) = call(&app, Method::GET, "/v1/Account/Users", creds, None).await;
    assert_eq!(status, 200);
    assert_eq!(list["users"].as_array().map(Vec::len), Some(1));
    let (status, _) = call(&app, Method::GET, "/v1/Account/Users", None, None).await;
    assert_eq!(status, 401);
    // The administrator reaches the console.
    let b = crate::console::console_browser(&app, "boss@example.com").await;
    assert_eq!(b.get("/console").await.status(), 200);
}

on_both_backends!(
    every_operation,
    refused_callers_change_nothing,
    users_and_administrators
);
