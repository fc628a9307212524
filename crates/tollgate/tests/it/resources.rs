//! DESIGN section 14: an API resource (audience) belongs to one account; another account's
//! clients get it only while its owner grants it. Reproduces the penetration test's finding
//! (account A put B's audience on its own app and got tokens for B's API) and checks the fix
//! on one node and on a second node sharing the database.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tollgate_core::admin::{AdminError, Caller, ClientPatch, ResourceSpec};
use tollgate_core::ids::{AccountSid, ClientId};
use tollgate_core::model::{Client, Resource};

use crate::helpers::{Backend, TestApp, TestClient, eventually, spawn_app};
use tollgate_testkit::on_both_backends;

const BILLING: &str = "https://billing.b.example";
/// DESIGN section 3: changes reach every node within 2 seconds.
const PROPAGATION: Duration = Duration::from_secs(2);

/// A client_credentials request, naming `resource` when given: the status and the body.
async fn token(app: &TestApp, c: &TestClient, resource: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", c.id.as_str()),
        ("client_secret", c.secret.as_str()),
    ];
    if let Some(r) = resource {
        form.push(("resource", r));
    }
    let resp = app.post_form("/oauth/token", &form).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

/// Asserts that `c`'s token requests for `BILLING` on `app` come to answer `status`
/// within `PROPAGATION` (`what` says what had to arrive).
async fn billing_answers(app: &TestApp, c: &TestClient, status: u16, what: &str) {
    let reached = eventually(PROPAGATION, || async {
        token(app, c, Some(BILLING)).await.0 == status
    });
    assert!(reached.await.is_some(), "{what}");
}

async fn register(app: &TestApp, owner: &AccountSid, identifier: &str) -> Resource {
    let spec = ResourceSpec {
        identifier: identifier.into(),
        scopes: vec!["billing.admin".into()],
        ..ResourceSpec::default()
    };
    let r = app
        .server
        .admin()
        .create_resource(&Caller::Account(owner.clone()), spec)
        .await
        .expect("register resource");
    assert_eq!(&r.account_sid, owner);
    r
}

fn invalid_message(result: Result<impl std::fmt::Debug, AdminError>) -> String {
    match result {
        Err(AdminError::Invalid(m)) => m,
        other => panic!("expected an invalid-request error, got {other:?}"),
    }
}

/// `owner` registering `identifier` is refused: the message.
async fn refused_resource(app: &TestApp, owner: &AccountSid, identifier: &str) -> String {
    let spec = ResourceSpec {
        identifier: identifier.into(),
        ..ResourceSpec::default()
    };
    let caller = Caller::Account(owner.clone());
    invalid_message(app.server.admin().create_resource(&caller, spec).await)
}

/// Sets a client's audiences behind the admin service's back, as a client registered before
/// resources existed has them.
async fn set_audiences_in_store(app: &TestApp, id: &ClientId, audiences: &[&str]) {
    let store = tollgate_store::open(&app.database_url, Arc::new(tollgate_core::SystemClock))
        .await
        .expect("store");
    let mut client: Client = store.client(id).await.expect("read").expect("client");
    client.audiences = audiences.iter().map(|a| (*a).to_owned()).collect();
    assert!(store.update_client(&client).await.expect("update"));
    app.server.engine.sync().await.expect("sync");
}

async fn a_resource_belongs_to_the_account_that_registered_it(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = app.account.sid.clone();
    let b = app.sibling_account().await;
    let billing = register(&app, &b, BILLING).await;

    // A cannot register B's identifier, nor name it on its own app; neither answer says whose.
    let admin = app.server.admin();
    let msg = refused_resource(&app, &a, BILLING).await;
    assert_eq!(
        msg,
        format!("resource {BILLING:?} is already registered by another account")
    );
    assert!(!msg.contains(b.as_str()));
    let squat = ClientPatch {
        friendly_name: Some("squatter".into()),
        audiences: Some(vec![BILLING.into()]),
        scopes: Some(vec!["billing.admin".into()]),
        ..ClientPatch::default()
    };
    let msg = invalid_message(admin.create_client(squat.into_spec(Some(a.clone()))).await);
    assert_eq!(
        msg,
        format!("audience {BILLING:?} is already registered by another account")
    );
    assert!(!msg.contains(b.as_str()));

    // The finding: A's app names B's audience (registered before this rule) and asks for it.
    let squatter = app.client().await;
    set_audiences_in_store(&app, &squatter.id, &[BILLING]).await;
    for asked in [Some(BILLING), None] {
        let (status, body) = token(&app, &squatter, asked).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_target"))
        );
    }
    // Updating something else on that app is not blocked by the audience it already has.
    let rename = ClientPatch {
        friendly_name: Some("renamed".into()),
        ..ClientPatch::default()
    };
    admin
        .update_client(&Caller::Account(a.clone()), &squatter.id, rename)
        .await
        .expect("rename");

    // A second node on the same database.
    let node2 = app.second_node(|_| {}).await;
    assert_eq!(token(&node2, &squatter, Some(BILLING)).await.0, 400);

    // B grants A: A's app gets tokens for B's API, on both nodes.
    let granted = admin
        .set_resource_grant(&Caller::Account(b.clone()), &billing.sid, &a, true)
        .await
        .expect("grant");
    assert_eq!(granted.granted_to, vec![a.clone()]);
    let (status, body) = token(&app, &squatter, Some(BILLING)).await;
    assert_eq!(status, 200, "{body}");
    let claims = app.verify_token_of(&body).await;
    assert_eq!(claims["aud"], BILLING);
    assert_eq!(claims["account_sid"], a.as_str());
    billing_answers(&node2, &squatter, 200, "the grant reached the second node").await;
    // While granted, A may name it on a new app too.
    app.client_with(|s| s.audiences = vec![BILLING.into()])
        .await;

    // Only the owner grants and revokes; to A the resource does not exist.
    let as_a = admin
        .set_resource_grant(&Caller::Account(a.clone()), &billing.sid, &a, false)
        .await;
    assert!(matches!(as_a, Err(AdminError::NotFound(_))), "{as_a:?}");

    // B revokes: invalid_target again, here at once and on the second node after sync.
    admin
        .set_resource_grant(&Caller::Account(b.clone()), &billing.sid, &a, false)
        .await
        .expect("revoke");
    let (status, body) = token(&app, &squatter, Some(BILLING)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    billing_answers(
        &node2,
        &squatter,
        400,
        "the revocation reached the second node",
    )
    .await;
    node2.server.engine.sync().await.expect("sync");
    let (status, body) = token(&node2, &squatter, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
}

async fn first_use_claims_an_unregistered_audience(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = app.account.sid.clone();
    let b = app.sibling_account().await;
    let admin = app.server.admin();
    const API: &str = "https://api.a.example";

    // A's app names an audience nobody registered: it becomes A's resource.
    let c = app.client_with(|s| s.audiences = vec![API.into()]).await;
    let mine = admin
        .resources(&Caller::Account(a.clone()), None)
        .await
        .expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].identifier.as_str(), &mine[0].account_sid),
        (API, &a)
    );
    let (status, body) = token(&app, &c, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        admin
            .resources(&Caller::Account(b.clone()), None)
            .await
            .expect("list")
            .is_empty()
    );

    // Now B gets the same uniform answer on both paths, naming no account.
    let spec = ClientPatch {
        friendly_name: Some("b app".into()),
        audiences: Some(vec![API.into()]),
        ..ClientPatch::default()
    }
    .into_spec(Some(b.clone()));
    let msg = invalid_message(admin.create_client(spec).await);
    assert!(
        msg.ends_with("is already registered by another account"),
        "{msg}"
    );
    assert!(!msg.contains(a.as_str()) && !msg.contains(&app.account.friendly_name));
    let msg = refused_resource(&app, &b, API).await;
    assert!(
        msg.ends_with("is already registered by another account"),
        "{msg}"
    );
    assert!(!msg.contains(a.as_str()));

    // An audience nobody registered (a client from before this rule) keeps working.
    const OLD: &str = "https://legacy.example";
    let legacy = app.client().await;
    set_audiences_in_store(&app, &legacy.id, &[OLD]).await;
    let (status, body) = token(&app, &legacy, Some(OLD)).await;
    assert_eq!(
        (status, body["access_token"].is_string()),
        (200, true),
        "{body}"
    );

    // The issuer is the default audience: never a resource, always allowed.
    let issuer = ResourceSpec {
        identifier: app.base.clone(),
        ..ResourceSpec::default()
    };
    invalid_message(
        admin
            .create_resource(&Caller::Account(b.clone()), issuer)
            .await,
    );
    let own = app
        .client_with(|s| s.audiences = vec![app.base.clone()])
        .await;
    assert_eq!(token(&app, &own, None).await.0, 200);
    assert_eq!(
        admin
            .resources(&Caller::Operator, None)
            .await
            .expect("all")
            .len(),
        1
    );

    // A resource some app still names is not deleted (its identifier would be free again).
    let sid = mine[0].sid.clone();
    let kept = admin
        .delete_resource(&Caller::Account(a.clone()), &sid)
        .await;
    assert!(invalid_message(kept).contains("still named by 1 app"));
    admin
        .delete_client(&Caller::Account(a.clone()), &c.id)
        .await
        .expect("delete app");
    let not_b = admin
        .delete_resource(&Caller::Account(b.clone()), &sid)
        .await;
    assert!(matches!(not_b, Err(AdminError::NotFound(_))));
    admin
        .delete_resource(&Caller::Account(a.clone()), &sid)
        .await
        .expect("delete");
    assert!(app.server.engine.resource(API).is_none());
}

/// `tollgate resource create` of `BILLING` for `owner`, then `more`: the CLI's answer.
async fn create_billing(app: &TestApp, owner: &str, more: &[&str]) -> (bool, Value) {
    let create = [
        "resource",
        "create",
        "--identifier",
        BILLING,
        "--account",
        owner,
    ];
    app.cli_json(&[&create[..], more].concat()).await
}

async fn cli_manages_resources(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = app.account.sid.clone();
    let b = app.sibling_account().await;
    let scope = ["--scope", "billing.admin"];
    let (ok, created) = create_billing(&app, b.as_str(), &scope).await;
    assert!(ok, "{created}");
    assert_eq!(created["account_sid"], b.as_str());
    assert_eq!(created["scopes"], serde_json::json!(["billing.admin"]));
    let sid = created["resource_sid"].as_str().expect("sid").to_owned();

    let (ok, again) = create_billing(&app, a.as_str(), &[]).await;
    assert!(!ok);
    assert!(!again.to_string().contains(b.as_str()), "{again}");

    let squatter = app.client().await;
    set_audiences_in_store(&app, &squatter.id, &[BILLING]).await;
    assert_eq!(token(&app, &squatter, Some(BILLING)).await.0, 400);

    let (ok, granted) = app
        .cli_json(&["resource", "grant", BILLING, "--to", a.as_str()])
        .await;
    assert!(ok, "{granted}");
    assert_eq!(granted["granted_to"], serde_json::json!([a.as_str()]));
    billing_answers(&app, &squatter, 200, "the CLI grant reached the server").await;

    let (ok, listed) = app
        .cli_json(&["resource", "list", "--account", b.as_str()])
        .await;
    assert!(ok);
    assert_eq!(listed["resources"][0]["resource_sid"], sid.as_str());

    let (ok, revoked) = app
        .cli_json(&["resource", "revoke", &sid, "--from", a.as_str()])
        .await;
    assert!(ok, "{revoked}");
    assert_eq!(revoked["granted_to"], serde_json::json!([]));
    billing_answers(
        &app,
        &squatter,
        400,
        "the CLI revocation reached the server",
    )
    .await;

    // Still named by A's app: not deleted until that app lets go of it.
    assert!(!app.cli_json(&["resource", "delete", &sid]).await.0);
    set_audiences_in_store(&app, &squatter.id, &[]).await;
    let (ok, deleted) = app.cli_json(&["resource", "delete", &sid]).await;
    assert!(ok, "{deleted}");
    assert_eq!(deleted["deleted"], sid.as_str());
}

/// One admin API call with `AccountSid:AuthToken`: the status and the JSON body (`null` when
/// empty).
async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    creds: (&str, &str),
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method, app.url(path))
        .basic_auth(creds.0, Some(creds.1));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json)
}

async fn admin_api_manages_resources(backend: Backend) {
    use reqwest::Method;
    use serde_json::json;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = (app.account.sid.as_str(), app.auth_token.as_str());
    let (b_account, b_token) = app
        .server
        .admin()
        .create_account(Some("b".into()), Some(app.account.organization_sid.clone()))
        .await
        .expect("account b");
    let b = (b_account.sid.as_str(), b_token.expose());
    const ROOT: &str = "/v1/Account/Resources";

    let body = json!({"identifier": BILLING, "scopes": ["billing.admin"]});
    let (status, created) = api(&app, Method::POST, ROOT, b, Some(body.clone())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (&created["account_sid"], &created["granted_to"]),
        (&json!(b.0), &json!([]))
    );
    let sid = created["sid"].as_str().expect("sid").to_owned();
    let one = format!("{ROOT}/{sid}");

    // A: taken (without saying by whom), for the resource and for an app naming it.
    let (status, err) = api(&app, Method::POST, ROOT, a, Some(body)).await;
    assert_eq!(status, 400);
    let msg = err["message"].as_str().expect("message");
    assert!(
        msg.ends_with("is already registered by another account"),
        "{msg}"
    );
    assert!(!err.to_string().contains(b.0));
    let app_body = json!({
        "friendly_name": "a app",
        "grant_types": ["client_credentials"],
        "scopes": ["billing.admin"],
        "audiences": [BILLING],
    });
    let apps = "/v1/Account/OAuthApps";
    let (status, err) = api(&app, Method::POST, apps, a, Some(app_body.clone())).await;
    assert_eq!(status, 400, "{err}");
    assert!(!err.to_string().contains(b.0));
    // B's resource does not exist for A.
    assert_eq!(api(&app, Method::GET, &one, a, None).await.0, 404);
    assert_eq!(api(&app, Method::DELETE, &one, a, None).await.0, 404);
    let (_, listed) = api(&app, Method::GET, ROOT, a, None).await;
    assert_eq!(listed, json!({"resources": []}));
    assert_eq!(
        api(&app, Method::GET, &format!("{ROOT}/nonsense"), a, None)
            .await
            .0,
        404
    );

    // B grants A: A's new app may name it and gets tokens for it.
    let grants = format!("{one}/Grants");
    let (status, granted) = api(
        &app,
        Method::POST,
        &grants,
        b,
        Some(json!({"account_sid": a.0})),
    )
    .await;
    assert_eq!(
        (status, &granted["granted_to"]),
        (200, &json!([a.0])),
        "{granted}"
    );
    let (status, made) = api(&app, Method::POST, apps, a, Some(app_body)).await;
    assert_eq!(status, 201, "{made}");
    let client = TestClient {
        id: ClientId::parse(made["sid"].as_str().expect("sid")).expect("id"),
        secret: made["secret"].as_str().expect("secret").to_owned(),
    };
    assert_eq!(token(&app, &client, Some(BILLING)).await.0, 200);

    // B revokes: invalid_target at once; the resource cannot go while A's app names it.
    let grant = format!("{grants}/{}", a.0);
    let (status, revoked) = api(&app, Method::DELETE, &grant, b, None).await;
    assert_eq!(
        (status, &revoked["granted_to"]),
        (200, &json!([])),
        "{revoked}"
    );
    let (status, body) = token(&app, &client, Some(BILLING)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
    assert_eq!(api(&app, Method::DELETE, &grant, b, None).await.0, 404);
    assert_eq!(api(&app, Method::DELETE, &one, b, None).await.0, 400);
    let (status, fetched) = api(&app, Method::GET, &one, b, None).await;
    assert_eq!((status, &fetched["identifier"]), (200, &json!(BILLING)));
}

on_both_backends!(
    a_resource_belongs_to_the_account_that_registered_it,
    first_use_claims_an_unregistered_audience,
    cli_manages_resources,
    admin_api_manages_resources
);
