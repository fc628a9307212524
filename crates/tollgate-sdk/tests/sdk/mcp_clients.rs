//! The official MCP SDKs (TypeScript and Python) against the example MCP server and Tollgate,
//! configured with nothing but the MCP server's URL: discovery, registration (dynamic, or a
//! Client ID Metadata Document served on loopback HTTPS), authorization code + PKCE + resource
//! through the real sign-in pages, tool calls, step-up.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tollgate_core::admin::{Caller, ResourceSpec, UserSpec};
use tollgate_core::model::RegistrationPolicy;
use tollgate_sdk::ProtectedResource;

use crate::documents::{DocumentServer, publish};
use crate::{Tollgate, mcp_server, tollgate_with};

const EMAIL: &str = "mcp-user@example.com";
const PASSWORD: &str = "a long enough password 42";

/// Tollgate with a user, the MCP server's URL registered as a resource of the account, open
/// registration; and the example MCP server.
async fn setup(document: Option<&DocumentServer>) -> (Tollgate, String, String) {
    let tg = tollgate_with(|c| {
        if let Some(d) = document {
            c.engine.client_metadata_documents = true;
            c.engine.client_metadata_hosts = vec!["127.0.0.1".into()];
            c.outbound_ca_file = Some(d.ca_file.clone());
            // The document server is on loopback (development only).
            c.outbound_allow_loopback_http = true;
        }
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let admin = tg.server.admin();
    let account = tollgate_core::ids::AccountSid::parse(&tg.account).unwrap();
    let user = admin
        .create_user(UserSpec {
            email: EMAIL.into(),
            password: PASSWORD.into(),
            ..UserSpec::default()
        })
        .await
        .unwrap();
    admin
        .create_resource(
            &Caller::Account(account.clone()),
            ResourceSpec {
                identifier: url.clone(),
                scopes: vec![mcp_server::BASE_SCOPE.into(), "notes:write".into()],
                ..ResourceSpec::default()
            },
        )
        .await
        .unwrap();
    admin
        .set_registration_policy(&Caller::Operator, Some(account), RegistrationPolicy::Open)
        .await
        .unwrap();
    tg.server.engine.sync().await.unwrap();
    let resource = ProtectedResource::new(&url, &tg.base)
        .unwrap()
        .scopes([mcp_server::BASE_SCOPE, "notes:write"]);
    let validator = resource.validator().build().await.unwrap();
    let router = mcp_server::router(&resource, validator);
    tokio::spawn(async move { axum::serve(listener, router).await });
    (tg, url, user.sid.to_string())
}

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tollgate/tests")
}

/// Runs a client script off the async runtime; its JSON lines, by step.
async fn run(mut cmd: Command) -> Vec<Value> {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn step<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["step"] == name)
        .unwrap_or_else(|| panic!("no {name:?} step in {lines:#?}"))
}

/// What every MCP client must have seen, whichever SDK it is.
fn check_flow(lines: &[Value], tg: &Tollgate, url: &str, user: &str, document: Option<&str>) {
    let registered = step(lines, "registered");
    match document {
        None => assert_eq!(registered["dynamic"], true),
        Some(doc) => {
            // No registration request: the client id is the document's URL, and the consent
            // page named the host the document lives on.
            assert_eq!(registered["dynamic"], false);
            assert_eq!(registered["client_id"], doc);
            assert_eq!(step(lines, "consent")["client_host_shown"], true);
        }
    }
    let authorize = step(lines, "authorize");
    assert_eq!(authorize["resource"], url, "RFC 8707 resource");
    assert_eq!(authorize["method"], "S256");
    // The first authorization asks for what the 401 named, not for everything (the Python
    // SDK adds offline_access for its refresh token).
    let first: Vec<&str> = authorize["scope"].as_str().unwrap().split(' ').collect();
    assert!(first.contains(&mcp_server::BASE_SCOPE), "{first:?}");
    assert!(!first.contains(&"notes:write"), "{first:?}");
    assert_eq!(
        step(lines, "callback")["iss"],
        tg.base.as_str(),
        "RFC 9207 iss"
    );
    let token = step(lines, "token");
    assert_eq!(token["aud"], url);
    assert_eq!(token["iss"], tg.base.as_str());
    assert_eq!(
        step(lines, "tools")["names"],
        serde_json::json!(["add_note", "whoami"])
    );
    assert_eq!(step(lines, "whoami")["result"]["sub"], user);
    let stepped = step(lines, "stepped_up")["scope"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stepped.split(' ').any(|s| s == "notes:write"), "{stepped}");
    let note = step(lines, "add_note");
    assert_eq!(note["is_error"], false, "{note}");
    assert!(
        note["result"].as_str().unwrap().ends_with("note(s) kept"),
        "{note}"
    );
    step(lines, "done");
}

/// Runs `cmd URL EMAIL PASSWORD [DOCUMENT]` against a fresh server (which knows the client's
/// document when given) and checks the flow it reports.
async fn interop(mut cmd: Command, document: Option<&DocumentServer>) {
    let (tg, url, user) = setup(document).await;
    cmd.args([&url, EMAIL, PASSWORD]);
    if let Some(d) = document {
        cmd.arg(&d.url);
    }
    let lines = run(cmd).await;
    check_flow(&lines, &tg, &url, &user, document.map(|d| d.url.as_str()));
}

/// The TypeScript client script, once `npm ci` installed its SDK; `None` skips the test,
/// where that is allowed.
fn node_script() -> Option<PathBuf> {
    let installed = tests_dir()
        .join("node/node_modules/@modelcontextprotocol/sdk")
        .exists();
    if !installed && !required("npm ci in crates/tollgate/tests/node") {
        return None;
    }
    Some(tests_dir().join("node/mcp_client.mjs"))
}

/// The Python with the MCP SDK (`TOLLGATE_TEST_PYTHON`); `None` skips the test, where that
/// is allowed.
fn python() -> Option<String> {
    let found = std::env::var("TOLLGATE_TEST_PYTHON").ok();
    assert!(
        found.is_some() || !required("TOLLGATE_TEST_PYTHON"),
        "TOLLGATE_TEST_PYTHON is not set"
    );
    found
}

fn required(tool: &str) -> bool {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !ci {
        eprintln!("skipping: {tool} is not set up (CI=true makes this a failure)");
    }
    ci
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_registers_signs_in_and_steps_up() {
    let Some(script) = node_script() else {
        return;
    };
    let mut cmd = Command::new("node");
    cmd.arg(script);
    interop(cmd, None).await;
}

/// Publishes at `path` the document a client publishes about itself.
async fn publish_client(path: &str, name: &str, redirect: &str, refresh: bool) -> DocumentServer {
    let mut grants = vec!["authorization_code"];
    if refresh {
        grants.push("refresh_token");
    }
    let document = |url: &str| -> Value {
        serde_json::json!({
            "client_id": url,
            "client_name": name,
            "client_uri": "https://modelcontextprotocol.io/",
            "redirect_uris": [redirect],
            "grant_types": grants,
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        })
    };
    publish(path, document).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_sdk_signs_in_by_client_metadata_document() {
    let Some(script) = node_script() else {
        return;
    };
    // Without refresh_token: see the provider's clientMetadata in the script.
    let name = "MCP interop (TypeScript SDK)";
    let redirect = "http://127.0.0.1:53682/callback";
    let doc = publish_client("/clients/typescript.json", name, redirect, false).await;
    let mut cmd = Command::new("node");
    cmd.arg(script);
    interop(cmd, Some(&doc)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_signs_in_by_client_metadata_document() {
    let Some(python) = python() else {
        return;
    };
    let name = "MCP interop (Python SDK)";
    let redirect = "http://127.0.0.1:53683/callback";
    let doc = publish_client("/clients/python.json", name, redirect, true).await;
    let mut cmd = Command::new(python);
    cmd.arg(tests_dir().join("python/mcp_client.py"));
    interop(cmd, Some(&doc)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_registers_signs_in_and_steps_up() {
    let Some(python) = python() else {
        return;
    };
    let mut cmd = Command::new(python);
    cmd.arg(tests_dir().join("python/mcp_client.py"));
    interop(cmd, None).await;
}
