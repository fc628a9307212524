//! One integration-test binary: every test talks to a real Tollgate over HTTP.
// A test binary: failing loudly is how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod admin_api;
mod assertion_audience;
mod authorization_code;
mod browser;
mod chromium;
mod cli;
mod client_credentials;
mod console;
mod console_chromium;
mod console_store;
mod device;
mod engine;
mod errors;
mod fapi;
mod fapi_support;
mod faults;
mod grant_binding;
mod keys;
mod kill_nine;
mod node_openid_client;
mod nodes;
mod operations;
mod python_sdks;
mod refresh_props;
mod resources;
mod schemathesis;
mod security;
mod security_outbound;
mod seed_operations;
mod sign_in_requirements;
mod store;
mod store_faults;
mod store_grants;
mod token_management;
