//! One integration-test binary: every test talks to a real Tollgate over HTTP.
// A test binary: failing loudly is how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod admin_api;
mod assertion_audience;
mod authorization_code;
mod backup;
mod chromium;
mod cli;
mod client_credentials;
mod code_dialects;
mod console;
mod console_chromium;
mod console_store;
mod device;
mod email_claims;
mod engine;
mod errors;
mod failover;
mod fapi;
mod faults;
mod grant_binding;
mod hygiene;
mod keys;
mod kill_nine;
mod login_pages;
mod migrate;
mod node_openid_client;
mod nodes;
mod openid_connect;
mod operations;
mod python_sdks;
mod refresh_props;
mod refresh_rotation;
mod resources;
mod schemathesis;
mod security;
mod security_outbound;
mod seed_operations;
mod sign_in_requirements;
mod staleness;
mod store;
mod store_faults;
mod store_grants;
mod token_management;
mod transfer;
