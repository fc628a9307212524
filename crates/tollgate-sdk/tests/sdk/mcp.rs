//! The resource side of MCP authorization: RFC 9728 metadata, the challenges that lead a client
//! to Tollgate, audience binding and step-up, on the example MCP server over real HTTP.

use serde_json::{Value, json};
use tollgate_sdk::ProtectedResource;

use crate::mcp_server;
use crate::{App, Tollgate, challenge_of, tollgate};

/// The example MCP server on a free port, its resource URL, and Tollgate beside it.
async fn example() -> (Tollgate, String) {
    let tg = tollgate().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let resource = ProtectedResource::new(&url, &tg.base)
        .unwrap()
        .scopes([mcp_server::BASE_SCOPE, "notes:write"])
        .name("notes");
    let validator = resource.validator().build().await.unwrap();
    let router = mcp_server::router(&resource, validator);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (tg, url)
}

async fn token(tg: &Tollgate, app: &App, resource: Option<&str>, scope: &str) -> String {
    let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
    if let Some(r) = resource {
        form.push(("resource", r));
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth/token", tg.base))
        .basic_auth(&app.id, Some(&app.secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// One JSON-RPC message to the streamable HTTP endpoint.
async fn rpc(
    url: &str,
    token: Option<&str>,
    session: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    req.send().await.unwrap()
}

/// The JSON-RPC answer in a response that may be an SSE stream.
async fn answer(resp: reqwest::Response) -> Value {
    let text = resp.text().await.unwrap();
    let json = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(&text);
    serde_json::from_str(json).unwrap_or_else(|_| panic!("not JSON-RPC: {text}"))
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "sdk-test", "version": "1"}}})
}

fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

#[tokio::test]
async fn metadata_names_the_issuer_and_both_well_known_paths_serve_it() {
    let (tg, url) = example().await;
    let origin = url.trim_end_matches("/mcp");
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let resp = reqwest::get(format!("{origin}{path}")).await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let doc: Value = resp.json().await.unwrap();
        assert_eq!(doc["resource"], url.as_str());
        assert_eq!(doc["authorization_servers"], json!([tg.base]));
        assert_eq!(doc["scopes_supported"], json!(["mcp:tools", "notes:write"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], "notes");
    }
}

#[tokio::test]
async fn a_refused_client_is_told_where_the_metadata_is() {
    let (tg, url) = example().await;
    let metadata = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");

    let resp = rpc(&url, None, None, initialize()).await;
    let challenge = challenge_of(&resp, 401);
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata}\"")),
        "{challenge}"
    );
    // RFC 6750 section 3.1: no credentials, no error code; the scope to ask for first.
    assert!(!challenge.contains("error="), "{challenge}");
    assert!(challenge.contains("scope=\"mcp:tools\""), "{challenge}");

    // A valid token of this issuer for another audience (the issuer's default) is refused:
    // the validator requires `aud` to be this server's own URL.
    let app = tg
        .app(|s| s.scopes = vec!["mcp:tools".into(), "notes:write".into()])
        .await;
    let elsewhere = token(&tg, &app, None, "mcp:tools").await;
    let resp = rpc(&url, Some(&elsewhere), None, initialize()).await;
    let challenge = challenge_of(&resp, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("resource_metadata="), "{challenge}");
}

#[tokio::test]
async fn tools_run_for_the_token_and_step_up_names_the_missing_scope() {
    let (tg, url) = example().await;
    let app = tg
        .app(|s| {
            s.scopes = vec!["mcp:tools".into(), "notes:write".into()];
            s.audiences = vec![url.clone()];
        })
        .await;

    // The base scope only: the session opens and whoami answers for the token's subject.
    let narrow = token(&tg, &app, Some(&url), "mcp:tools").await;
    let resp = rpc(&url, Some(&narrow), None, initialize()).await;
    assert_eq!(resp.status(), 200);
    let session = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(answer(resp).await["result"]["serverInfo"].is_object());
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert!(
        rpc(&url, Some(&narrow), Some(&session), note)
            .await
            .status()
            .is_success()
    );
    let who = answer(
        rpc(
            &url,
            Some(&narrow),
            Some(&session),
            call(2, "whoami", json!({})),
        )
        .await,
    )
    .await;
    let text: Value =
        serde_json::from_str(who["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["sub"], app.id.as_str());
    assert_eq!(text["scope"], "mcp:tools");

    // add_note needs notes:write: 403 before it runs, naming every scope to ask for.
    let resp = rpc(
        &url,
        Some(&narrow),
        Some(&session),
        call(3, "add_note", json!({"text": "x"})),
    )
    .await;
    let challenge = challenge_of(&resp, 403);
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"mcp:tools notes:write\""),
        "{challenge}"
    );
    assert!(challenge.contains("resource_metadata="), "{challenge}");

    // With the wider token the same call runs.
    let wide = token(&tg, &app, Some(&url), "mcp:tools notes:write").await;
    let done = answer(
        rpc(
            &url,
            Some(&wide),
            Some(&session),
            call(4, "add_note", json!({"text": "x"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        done["result"]["content"][0]["text"], "1 note(s) kept",
        "{done}"
    );

    // A token without even the base scope is refused by the layer, with the scope to ask for.
    let none = token(&tg, &app, Some(&url), "notes:write").await;
    let resp = rpc(&url, Some(&none), None, initialize()).await;
    let challenge = challenge_of(&resp, 403);
    assert!(challenge.contains("scope=\"mcp:tools\""), "{challenge}");
}
