//! The admin console over plain HTTP, as a browser submits its forms: who may enter, the app,
//! user and session screens, validation, CSRF, and that one account never sees another's data.
//! The same screens in headless Chromium (with axe-core) are in `console_chromium.rs`.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, TestClient, spawn_app};
use crate::helpers::{Browser, PASSWORD, Visit, hidden};
use crate::helpers::{get_code, redeem, refresh};
use tollgate_testkit::on_both_backends;

/// The `value` of the element with this `id` (an input), unescaped.
pub fn value_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[at..tag_end];
    let start = tag.find("value=\"")? + 7;
    let end = tag[start..].find('"')?;
    // The inputs here hold ids and secrets (base64url): nothing to unescape but the
    // characters askama escapes.
    Some(
        tag[start..start + end]
            .replace("&#x2f;", "/")
            .replace("&#43;", "+")
            .replace("&amp;", "&"),
    )
}

/// A browser signed in through the login page, which was reached by asking for `/console`.
pub async fn console_browser(app: &TestApp, email: &str) -> Browser {
    let b = Browser::new(app);
    let Visit::Page { url, html, .. } = b.visit("/console").await else {
        panic!("the console stays on the server");
    };
    assert!(url.contains("/login?continue=%2Fconsole"), "{url}");
    let resp = b.login(&url, &html, email, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/console", "back to the console");
    b
}

pub(crate) async fn page(b: &Browser, path: &str) -> (StatusCode, String) {
    let resp = b.get(path).await;
    let status = resp.status();
    (status, resp.text().await.expect("html"))
}

/// Submits a console form with the CSRF token from `html`.
pub(crate) async fn submit(
    b: &Browser,
    html: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = hidden(html, "csrf").expect("csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    b.post(path, &form).await
}

async fn only_administrators_enter(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Signed out: to the sign-in page, which comes back here.
    let anonymous = Browser::new(&app);
    let resp = anonymous.get("/console/apps").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/login?continue=%2Fconsole%2Fapps"
    );

    // The CLI's --admin makes an administrator.
    let args = ["user", "create", "--email", "boss@example.com"];
    let out = app
        .cli(&[&args[..], &["--password", PASSWORD, "--admin"]].concat())
        .await;
    assert!(out.status.success(), "{out:?}");
    let created: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(created["admin"], true);

    app.user("staff@example.com").await;
    let staff = Browser::new(&app);
    let Visit::Page { url, html, .. } = staff.visit("/console").await else {
        panic!("login page");
    };
    staff
        .login(&url, &html, "staff@example.com", PASSWORD)
        .await;
    let (status, html) = page(&staff, "/console").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Administrators only"), "{html}");
    let resp = submit(
        &staff,
        &html,
        "/console/apps",
        &[("friendly_name", "sneaky")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(
        app.server
            .admin()
            .clients(Some(&app.account.sid))
            .await
            .expect("clients")
            .is_empty(),
        "a non-administrator creates nothing"
    );

    let boss = console_browser(&app, "boss@example.com").await;
    let resp = boss.get("/console").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().expect("csp");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let html = resp.text().await.expect("html");
    assert!(html.contains("boss@example.com") && html.contains("Signing keys"));
    // The home page offers administrators the console.
    assert!(page(&boss, "/").await.1.contains("/console"));
    // A form without its CSRF token is refused.
    let resp = boss
        .post("/console/apps", &[("friendly_name", "no token")])
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

/// The app form's fields for a client_credentials app, then `more`.
fn app_fields<'a>(
    name: &'a str,
    scopes: &'a str,
    format: &'a str,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("friendly_name", name),
        ("grant_types", "client_credentials"),
        ("scopes", scopes),
        ("token_format", format),
    ];
    fields.extend_from_slice(more);
    fields
}

/// The new-app form (`form`) submitted for `name` with the scopes `read write`, JWT access
/// tokens and `more`: the page, answered with `status`.
async fn new_app(
    b: &Browser,
    form: &str,
    name: &str,
    more: &[(&str, &str)],
    status: StatusCode,
) -> String {
    let fields = app_fields(name, "read write", "jwt", more);
    let resp = submit(b, form, "/console/apps", &fields).await;
    assert_eq!(resp.status(), status);
    resp.text().await.expect("html")
}

/// An access token for the app `id` from the Twilio v2 token endpoint.
async fn v2_token(app: &TestApp, id: &str, secret: &str) -> String {
    let resp = app.client_credentials_at("/v2/token", id, secret).await;
    let token: Value = resp.json().await.expect("json");
    token["access_token"].as_str().expect("token").to_owned()
}

async fn apps_are_managed_in_the_console(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.admin_user("boss@example.com", None).await;
    let b = console_browser(&app, "boss@example.com").await;
    let (_, form) = page(&b, "/console/apps/new").await;

    // Every problem is shown by its field, and what was typed stays.
    let typed = [
        ("redirect_uris", "http://evil.example/cb"),
        ("access_token_ttl", "soon"),
    ];
    let html = new_app(&b, &form, "Billing <svc>", &typed, StatusCode::BAD_REQUEST).await;
    assert!(html.contains("id=\"redirect_uris-error\""), "{html}");
    assert!(html.contains("id=\"access_token_ttl-error\""), "{html}");
    assert!(!html.contains("id=\"friendly_name-error\""));
    assert!(html.contains("Billing &#60;svc&#62;") || html.contains("Billing &lt;svc&gt;"));
    assert!(html.contains("http://evil.example/cb") && html.contains("value=\"soon\""));

    let typed = [
        ("audiences", "https://api.example"),
        ("access_token_ttl", "600"),
    ];
    let html = new_app(&b, &form, "Billing", &typed, StatusCode::OK).await;
    let id = value_of(&html, "client-id").expect("client id");
    let secret = value_of(&html, "client-secret").expect("secret shown once");
    let token = v2_token(&app, &id, &secret).await;
    let claims = app.verify_access_token(&token).await;
    assert_eq!(claims["aud"], "https://api.example");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    // The app's page never shows the secret again.
    let (_, detail) = page(&b, &format!("/console/apps/{id}")).await;
    assert!(!detail.contains(&secret));
    assert!(detail.contains("value=\"read write\""));

    // Edit: scopes change at once.
    let fields = app_fields("Billing v2", "read", "opaque", &[]);
    let resp = submit(&b, &detail, &format!("/console/apps/{id}"), &fields).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, detail) = page(&b, &format!("/console/apps/{id}?notice=saved")).await;
    assert!(detail.contains("Changes saved") && detail.contains("Billing v2"));
    let token = v2_token(&app, &id, &secret).await;
    assert!(!token.contains('.'), "opaque now");

    // Rotate: the new secret works, the old one no longer.
    let resp = submit(&b, &detail, &format!("/console/apps/{id}/secret"), &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let rotated = value_of(&resp.text().await.expect("html"), "client-secret").expect("secret");
    assert_ne!(rotated, secret);
    app.assert_secret_rotated(&id, &secret, &rotated).await;

    // Another account's app is neither listed nor reachable.
    let other = app.other_account("other").await;
    let theirs = app.their_app(&other.sid).await;
    let (_, list) = page(&b, "/console/apps").await;
    assert!(list.contains("Billing v2") && !list.contains("Their app"));
    assert!(!list.contains(theirs.id.as_str()));
    let (status, _) = page(&b, &format!("/console/apps/{}", theirs.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let path = format!("/console/apps/{}/secret", theirs.id);
    let resp = submit(&b, &detail, &path, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (status, _) = page(&b, "/console/apps/not-a-sid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Delete asks for confirmation first.
    let path = format!("/console/apps/{id}/delete");
    let resp = submit(&b, &detail, &path, &[]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(
        resp.text()
            .await
            .expect("html")
            .contains("id=\"confirm-error\"")
    );
    let resp = submit(&b, &detail, &path, &[("confirm", "yes")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.client_credentials_at("/v2/token", &id, &rotated)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(
        app.server.admin().client(&theirs.id).await.is_ok(),
        "the other account's app is untouched"
    );
}

async fn users_sessions_and_overview(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let me = app.admin_user("boss@example.com", None).await;
    let b = console_browser(&app, "boss@example.com").await;
    let (_, users) = page(&b, "/console/users").await;

    // Adding a user: problems by field, the email kept, never the password.
    let resp = submit(
        &b,
        &users,
        "/console/users",
        &[("email", "boss@example.com"), ("password", "short")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let html = resp.text().await.expect("html");
    assert!(html.contains("id=\"email-error\"") && html.contains("id=\"password-error\""));
    assert!(html.contains("value=\"boss@example.com\""));
    let resp = submit(
        &b,
        &users,
        "/console/users",
        &[
            ("email", "Ada@Example.com"),
            ("password", PASSWORD),
            ("first_name", "Ada"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let ada = app
        .server
        .admin()
        .user_by_email("ada@example.com")
        .await
        .expect("lookup")
        .expect("created");
    assert!(!ada.admin);
    assert_eq!(ada.account_sid, app.account.sid);

    // Ada signs in to an app and holds a refresh token.
    let client: TestClient = app.code_client(false).await;
    let ada_browser = Browser::new(&app);
    let code = get_code(
        &ada_browser,
        "/oauth/authorize",
        &client,
        "openid read",
        "ada@example.com",
    )
    .await;
    let tokens: Value = redeem(&app, &client, &code, Some(crate::helpers::VERIFIER))
        .await
        .json()
        .await
        .expect("tokens");
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();

    // The overview counts it; an hour later it is only in the day's count.
    let (_, overview) = page(&b, "/console").await;
    assert!(
        overview.contains("id=\"stat-tokens-hour\">1<"),
        "{overview}"
    );
    assert!(overview.contains("id=\"stat-sessions\">1<"));
    assert!(overview.contains("id=\"stat-apps\">1<") && overview.contains("id=\"stat-users\">2<"));
    // In steps the browser session survives (it ends after 30 idle minutes).
    for _ in 0..6 {
        app.advance(20 * 60);
        assert_eq!(page(&b, "/console").await.0, StatusCode::OK);
    }
    let (_, overview) = page(&b, "/console").await;
    assert!(
        overview.contains("id=\"stat-tokens-hour\">0<"),
        "{overview}"
    );
    assert!(overview.contains("id=\"stat-tokens-day\">1<"));

    // The account's sign-in policy, set from the overview; a made-up one is refused.
    assert!(
        overview.contains("<option value=\"optional\" selected>"),
        "{overview}"
    );
    for (policy, status) in [
        ("sometimes", StatusCode::BAD_REQUEST),
        ("required", StatusCode::SEE_OTHER),
    ] {
        let fields = [("sign_in_policy", policy)];
        let resp = submit(&b, &overview, "/console/sign-in-policy", &fields).await;
        assert_eq!(resp.status(), status, "{policy}");
    }
    let (_, overview) = page(&b, "/console?notice=saved").await;
    assert!(
        overview.contains("<option value=\"required\" selected>"),
        "{overview}"
    );
    let (_, policy) = app
        .server
        .admin()
        .sign_in_policy(
            &tollgate_core::admin::Caller::Operator,
            Some(app.account.sid.clone()),
        )
        .await
        .expect("policy");
    assert_eq!(policy, tollgate_core::model::SignInPolicy::Required);

    // Sessions: by user and app; revoking ends the refresh token.
    let (_, sessions) = page(&b, "/console/sessions").await;
    assert!(
        sessions.contains("ada@example.com") && sessions.contains("test app"),
        "{sessions}"
    );
    let family = app
        .server
        .admin()
        .active_sessions(&app.account.sid)
        .await
        .expect("sessions")
        .remove(0)
        .family
        .id;
    let path = format!("/console/sessions/{family}/revoke");
    let resp = submit(&b, &sessions, &path, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        refresh(&app, &client, &refresh_token).await.status(),
        StatusCode::BAD_REQUEST
    );
    let (_, sessions) = page(&b, "/console/sessions").await;
    assert!(sessions.contains("No active sessions"));
    let path = "/console/sessions/no-such-family/revoke";
    let resp = submit(&b, &sessions, path, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Reset Ada's password: the old one stops working and her browser is signed out.
    let (_, detail) = page(&b, &format!("/console/users/{}", ada.sid)).await;
    let path = format!("/console/users/{}/password", ada.sid);
    for (password, status) in [
        ("x", StatusCode::BAD_REQUEST),
        ("a brand new passphrase", StatusCode::SEE_OTHER),
    ] {
        let resp = submit(&b, &detail, &path, &[("password", password)]).await;
        assert_eq!(resp.status(), status, "{password}");
    }
    assert!(
        app.server
            .engine
            .check_password("ada@example.com", PASSWORD)
            .await
            .expect("check")
            .is_none()
    );
    assert!(
        app.server
            .engine
            .check_password("ada@example.com", "a brand new passphrase")
            .await
            .expect("check")
            .is_some()
    );
    assert!(
        matches!(ada_browser.visit("/").await, Visit::Page { html, .. } if html.contains("not signed in"))
    );

    // Delete: confirmed, and never oneself.
    let own = format!("/console/users/{}/delete", me.sid);
    let resp = submit(&b, &detail, &own, &[("confirm", "yes")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let path = format!("/console/users/{}/delete", ada.sid);
    assert_eq!(
        submit(&b, &detail, &path, &[]).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        submit(&b, &detail, &path, &[("confirm", "yes")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(app.server.admin().user(&ada.sid).await.is_err());

    // Another account's administrator sees none of this account's users.
    let other = app.other_account("other").await;
    app.admin_user("them@example.com", Some(&other.sid)).await;
    let them = console_browser(&app, "them@example.com").await;
    let (_, list) = page(&them, "/console/users").await;
    assert!(list.contains("them@example.com") && !list.contains("boss@example.com"));
    let (status, _) = page(&them, &format!("/console/users/{}", me.sid)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, overview) = page(&them, "/console").await;
    assert!(
        overview.contains("id=\"stat-apps\">0<") && overview.contains("id=\"stat-tokens-day\">0<")
    );
}

on_both_backends!(
    only_administrators_enter,
    apps_are_managed_in_the_console,
    users_sessions_and_overview
);
