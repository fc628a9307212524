//! The standard dialect's operations in the OpenAPI description, each registered with its
//! route in [`super::Standard`]'s `routes`.

use utoipa::openapi::Response;
use utoipa::openapi::schema::Schema;

use crate::openapi::{
    Op, RFC_FORM_ERRORS, any, array_of, body, boolean, empty, form, html, integer, json,
    nullable_string, object, redirect, rfc6749_error, string,
};

const TAG: &str = "standard";

fn err() -> Response {
    json("RFC 6749 error", rfc6749_error())
}

pub fn token() -> Op {
    let token_fields: Vec<(&'static str, bool)> = vec![
        ("grant_type", true),
        ("client_id", false),
        ("client_secret", false),
        ("scope", false),
        ("audience", false),
        ("code", false),
        ("redirect_uri", false),
        ("code_verifier", false),
        ("refresh_token", false),
        ("device_code", false),
        ("client_assertion_type", false),
        ("client_assertion", false),
        ("resource", false),
    ];
    let json_fields = token_fields
        .iter()
        .map(|(n, r)| (*n, string(), *r))
        .collect();
    let media = vec![
        form(&token_fields),
        ("application/json", object(json_fields)),
    ];
    Op::post("/oauth/token", TAG)
        .summary("Token endpoint (RFC 6749 form, or the Optoro JSON body)")
        .body(body(media, true))
        .respond("200", json("Tokens", token_schema()))
        .respond_all(&["400", "401", "413", "415", "422", "429", "503"], &err())
}

pub fn device() -> Op {
    let fields = form(&[
        ("client_id", false),
        ("client_secret", false),
        ("client_assertion_type", false),
        ("client_assertion", false),
        ("scope", false),
        ("audience", false),
    ]);
    let codes = json(
        "Device and user codes",
        crate::openapi::device_authorization(),
    );
    Op::post("/oauth/device_authorization", TAG)
        .summary("RFC 8628 device authorization")
        .body(body(vec![fields], true))
        .respond("200", codes)
        .respond_all(RFC_FORM_ERRORS, &err())
}

pub fn par() -> Op {
    // The authorization request's fields (a pushed request has no request_uri) and the
    // client's credentials.
    let credentials = [
        ("client_secret", false),
        ("client_assertion_type", false),
        ("client_assertion", false),
    ];
    let par_fields: Vec<(&str, bool)> = AUTHORIZE_QUERY
        .iter()
        .filter(|(name, _)| *name != "request_uri")
        .chain(&credentials)
        .copied()
        .collect();
    let answer = object(vec![
        ("request_uri", string(), true),
        ("expires_in", integer(), true),
    ]);
    Op::post("/oauth/par", TAG)
        .summary("RFC 9126 pushed authorization request")
        .body(body(vec![form(&par_fields)], true))
        .respond(
            "201",
            json("The request_uri to send the browser with", answer),
        )
        .respond_all(RFC_FORM_ERRORS, &err())
}

const TOKEN_MANAGEMENT: &[(&str, bool)] = &[
    ("token", true),
    ("token_type_hint", false),
    ("client_id", false),
    ("client_secret", false),
    ("client_assertion_type", false),
    ("client_assertion", false),
];

pub fn revoke() -> Op {
    Op::post("/oauth/revoke", TAG)
        .summary("RFC 7009 revocation")
        .body(body(vec![form(TOKEN_MANAGEMENT)], true))
        .respond("200", empty("Revoked (or unknown)"))
        .respond_all(RFC_FORM_ERRORS, &err())
}

pub fn introspect() -> Op {
    Op::post("/oauth/introspect", TAG)
        .summary("RFC 7662 introspection")
        .body(body(vec![form(TOKEN_MANAGEMENT)], true))
        .respond("200", json("Token state", introspection_schema()))
        .respond_all(RFC_FORM_ERRORS, &err())
}

pub fn userinfo_get() -> Op {
    Op::get("/oauth/userinfo", TAG)
        .summary("OIDC userinfo (Authorization: Bearer)")
        .respond("200", json("Claims", userinfo_schema()))
        .respond_all(&["400", "401", "403"], &err())
}

pub fn userinfo_post() -> Op {
    Op::post("/oauth/userinfo", TAG)
        .summary("OIDC userinfo (Bearer header or form access_token)")
        .body(body(vec![form(&[("access_token", false)])], false))
        .respond("200", json("Claims", userinfo_schema()))
        .respond_all(&["400", "401", "403", "413"], &err())
}

pub fn jwks(path: &'static str) -> Op {
    let keys = object(vec![("keys", array_of(any()), true)]);
    Op::get(path, TAG)
        .summary("Signing keys")
        .respond("200", json("JSON Web Key Set", keys))
}

pub fn discovery(path: &'static str) -> Op {
    let doc = object(vec![("issuer", string(), true)]);
    Op::get(path, TAG)
        .summary("Discovery")
        .respond("200", json("Discovery document", doc))
}

/// The standard 404 body (`{error, error_description}`).
pub fn not_found_response() -> Response {
    json("No such document", rfc6749_error())
}

pub fn authorize() -> Op {
    Op::get("/oauth/authorize", TAG)
        .summary("Authorization endpoint (a browser page)")
        .query(AUTHORIZE_QUERY)
        .respond("200", html("Consent page"))
        .respond("303", redirect("To sign in, or back to the client"))
        .respond("400", html("The request cannot be sent back to the client"))
}

const AUTHORIZE_QUERY: &[(&str, bool)] = &[
    ("response_type", false),
    ("client_id", false),
    ("redirect_uri", false),
    ("scope", false),
    ("state", false),
    ("nonce", false),
    ("code_challenge", false),
    ("code_challenge_method", false),
    ("prompt", false),
    ("resource", false),
    ("request_uri", false),
    ("request", false),
    ("max_age", false),
    ("response_mode", false),
    ("dpop_jkt", false),
];

fn token_schema() -> Schema {
    object(vec![
        ("access_token", string(), true),
        ("token_type", string(), true),
        ("expires_in", integer(), true),
        ("scope", string(), true),
        ("created_at", integer(), true),
        ("refresh_token", string(), false),
        ("id_token", string(), false),
    ])
}

fn introspection_schema() -> Schema {
    object(vec![
        ("active", boolean(), true),
        ("scope", string(), false),
        ("client_id", string(), false),
        ("token_type", string(), false),
        ("exp", integer(), false),
        ("iat", integer(), false),
        ("nbf", integer(), false),
        ("sub", string(), false),
        ("aud", any(), false),
        ("iss", string(), false),
        ("jti", string(), false),
        ("account_sid", nullable_string(), false),
        ("cnf", object(vec![("jkt", string(), true)]), false),
    ])
}

fn userinfo_schema() -> Schema {
    object(vec![
        ("sub", string(), true),
        ("name", string(), false),
        ("given_name", string(), false),
        ("family_name", string(), false),
        ("nickname", string(), false),
        ("email", string(), false),
        ("email_verified", crate::openapi::boolean(), false),
    ])
}
