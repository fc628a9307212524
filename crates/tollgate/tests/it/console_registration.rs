//! Dynamic registration in the console: the policy, initial access tokens issued (shown once)
//! and revoked, and the apps that registered themselves (or are known by a Client ID Metadata
//! Document) marked as such and deleted like any other.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::console::{console_browser, page, submit, value_of};
use crate::helpers::documents::DocumentServer;
use crate::helpers::{Backend, REDIRECT, json as json_of, spawn_app_with};
use crate::registration::register;
use tollgate_testkit::on_both_backends;

const TOKENS: &str = "/console/registration/tokens";
const POLICY: &str = "/console/registration/policy";

async fn registration_is_managed_in_the_console(backend: Backend) {
    let docs = DocumentServer::start().await;
    let ca = docs.ca_file.clone();
    let Some(app) = spawn_app_with(backend, move |c| {
        c.engine.client_metadata_documents = true;
        c.outbound_ca_file = Some(ca);
    })
    .await
    else {
        return;
    };
    app.admin_user("boss@example.com", None).await;
    let b = console_browser(&app, "boss@example.com").await;
    let (status, html) = page(&b, "/console/registration").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="policy-off" checked"#), "{html}");

    // While registration is off, no token is issued.
    let resp = submit(&b, &html, TOKENS, &[("hours", "1"), ("uses", "1")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.unwrap().contains("registration is off"));

    let resp = submit(&b, &html, POLICY, &[("policy", "token")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/console/registration?notice=saved"
    );
    let (_, html) = page(&b, "/console/registration?notice=saved").await;
    assert!(html.contains(r#"id="policy-token" checked"#), "{html}");
    let resp = submit(&b, &html, POLICY, &[("policy", "sometimes")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Issued: shown once, listed, and it registers an app.
    let resp = submit(&b, &html, TOKENS, &[("hours", "2"), ("uses", "1")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    let token = value_of(&html, "initial-access-token").expect("token shown");
    assert!(html.contains(r#"id="tokens""#), "{html}");
    let body = json!({"client_name": "Self-registered", "redirect_uris": [REDIRECT]});
    let registered = json_of(register(&app, Some(&token), &body).await, 201).await;
    let sid = registered["client_id"]
        .as_str()
        .expect("client_id")
        .to_owned();
    let (_, html) = page(&b, "/console/registration").await;
    assert!(html.contains("No initial access token"), "used up: {html}");

    // Another, revoked before use.
    let resp = submit(&b, &html, TOKENS, &[("hours", "2"), ("uses", "5")]).await;
    let html = resp.text().await.unwrap();
    let spare = value_of(&html, "initial-access-token").expect("token shown");
    let action = html
        .split("action=\"")
        .map(|s| s.split('"').next().unwrap_or_default())
        .find(|a| a.starts_with("/console/registration/tokens/"))
        .expect("revoke form")
        .to_owned();
    let resp = submit(&b, &html, &action, &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = register(&app, Some(&spare), &body).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = submit(&b, &html, &action, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "already revoked");

    // A metadata document's client, once used, is listed too, marked as such.
    let url = docs.url("/clients/desk.json");
    docs.publish(
        "/clients/desk.json",
        &json!({"client_id": url, "client_name": "Desk", "redirect_uris": [REDIRECT]}),
        None,
    );
    app.server
        .engine
        .document_client(&url)
        .await
        .expect("resolved");
    let (_, list) = page(&b, "/console/apps").await;
    assert!(
        list.contains("Self-registered") && list.contains("Confidential (registered)"),
        "{list}"
    );
    assert!(
        list.contains("Desk") && list.contains("Public (metadata document)"),
        "{list}"
    );

    // Deleted from the console: its registration goes with it.
    let (_, app_page) = page(&b, &format!("/console/apps/{sid}")).await;
    let resp = submit(
        &b,
        &app_page,
        &format!("/console/apps/{sid}/delete"),
        &[("confirm", "yes")],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let (_, list) = page(&b, "/console/apps").await;
    assert!(!list.contains("Self-registered"), "{list}");
    let read = app
        .http
        .get(app.url(&format!("/oauth/register/{sid}")))
        .bearer_auth(
            registered["registration_access_token"]
                .as_str()
                .expect("rat"),
        )
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), StatusCode::UNAUTHORIZED);
}

on_both_backends!(registration_is_managed_in_the_console);
