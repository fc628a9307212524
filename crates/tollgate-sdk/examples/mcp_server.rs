//! A Model Context Protocol server protected by Tollgate.
//!
//! ```sh
//! cargo run --release -p tollgate-sdk --example mcp_server -- \
//!     --issuer http://127.0.0.1:8080 --listen 127.0.0.1:3000
//! ```
//!
//! Streamable HTTP at `/mcp` (the official Rust SDK, `rmcp`), behind the SDK's token layer.
//! A client that connects with no token gets 401 with `resource_metadata`; the RFC 9728
//! document names Tollgate as the authorization server, so an MCP client registers, signs the
//! user in and comes back with a token whose `aud` is this server's URL. Tools: `whoami`
//! (needs `mcp:tools`) and `add_note` (needs `notes:write` too: a token without it gets 403
//! `insufficient_scope` naming the scopes to ask for).

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use tollgate_sdk::{Claims, ProtectedResource, RequireToken};

/// Every tool call needs this scope; the layer refuses tokens without it.
pub const BASE_SCOPE: &str = "mcp:tools";
/// Tools that need more than the base scope, and what they need (checked before the call).
pub const TOOL_SCOPES: &[(&str, &str)] = &[("add_note", "notes:write")];

#[derive(Clone)]
pub struct Notes {
    notes: Arc<Mutex<Vec<String>>>,
    tool_router: ToolRouter<Self>,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct NewNote {
    /// The note's text.
    text: String,
}

fn claims(parts: &Parts) -> Result<&Claims, ErrorData> {
    // The token layer put them there; without them nothing was checked.
    parts
        .extensions
        .get::<Claims>()
        .ok_or_else(|| ErrorData::internal_error("no token claims on the request", None))
}

#[tool_router]
impl Notes {
    pub fn new() -> Self {
        Self {
            notes: Arc::default(),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Who the access token speaks for: subject, client and scopes")]
    fn whoami(&self, Extension(parts): Extension<Parts>) -> Result<String, ErrorData> {
        let c = claims(&parts)?;
        Ok(
            serde_json::json!({ "sub": c.sub, "client_id": c.client_id, "scope": c.scope })
                .to_string(),
        )
    }

    #[tool(description = "Keep a note (needs the notes:write scope)")]
    fn add_note(
        &self,
        Extension(parts): Extension<Parts>,
        Parameters(NewNote { text }): Parameters<NewNote>,
    ) -> Result<String, ErrorData> {
        let author = claims(&parts)?.sub.clone();
        let mut notes = self
            .notes
            .lock()
            .map_err(|_| ErrorData::internal_error("notes unavailable", None))?;
        notes.push(format!("{author}: {text}"));
        Ok(format!("{} note(s) kept", notes.len()))
    }
}

impl Default for Notes {
    fn default() -> Self {
        Self::new()
    }
}

#[tool_handler(router = self.tool_router.clone())]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("Notes, for the person the token speaks for.")
    }
}

/// Step-up (MCP authorization, scope challenges): a `tools/call` of a tool that needs more
/// than the base scope is refused with 403 before it runs, naming every scope to ask for.
async fn step_up(State(layer): State<RequireToken>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, 4 << 20).await else {
        return layer.insufficient_scope(&[]);
    };
    let call: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    if call["method"] == "tools/call" {
        let tool = call["params"]["name"].as_str().unwrap_or_default();
        let granted = parts.extensions.get::<Claims>();
        for (name, scope) in TOOL_SCOPES {
            if *name == tool && !granted.is_some_and(|c| c.has_scope(scope)) {
                return layer.insufficient_scope(&[BASE_SCOPE, scope]);
            }
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The whole server: metadata at the well-known paths, `/mcp` behind the token layer.
pub fn router(resource: &ProtectedResource, validator: tollgate_sdk::Validator) -> axum::Router {
    let layer = RequireToken::for_resource(validator, resource).scopes([BASE_SCOPE]);
    let host = resource
        .resource()
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    let config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(None)
        // DNS-rebinding protection: only the host this server is published as.
        .with_allowed_hosts([host]);
    let mcp = StreamableHttpService::new(
        || Ok(Notes::new()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(layer.clone(), step_up))
        .layer(layer)
        .merge(resource.router())
}

#[derive(clap::Parser)]
struct Args {
    /// The Tollgate issuer whose tokens this server accepts.
    #[arg(long)]
    issuer: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// This server's URL as clients name it (the tokens' audience); default http://LISTEN/mcp.
    #[arg(long)]
    resource: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = <Args as clap::Parser>::parse();
    let url = args
        .resource
        .unwrap_or_else(|| format!("http://{}/mcp", args.listen));
    let resource = ProtectedResource::new(url, args.issuer)?
        .scopes([BASE_SCOPE, "notes:write"])
        .name("Tollgate example MCP server");
    let validator = resource.validator().build().await?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    println!(
        "MCP server on {} (metadata at {})",
        resource.resource(),
        resource.metadata_url()
    );
    axum::serve(listener, router(&resource, validator)).await?;
    Ok(())
}
