//! The dialect renderers: success and error bodies of the standard, Twilio v1 and Twilio v2
//! dialects (tokens, errors with and without a forced status, bearer errors, device codes,
//! userinfo, authorize redirects, 404 and 405).
//!
//! Properties: nothing panics; every JSON body is valid JSON with a JSON content type; what
//! went in comes back out of the body (tokens, error codes and descriptions, device codes,
//! claims); statuses follow each dialect's mapping; errors are `no-store`, carry `Retry-After`
//! when they should and a bearer challenge on bearer errors.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tollgate_core::device::DeviceAuthorization;
use tollgate_core::ids::{AccountSid, UserSid};
use tollgate_core::model::User;
use tollgate_core::oidc::UserInfo;
use tollgate_core::token::Issued;
use tollgate_core::{ErrorKind, OAuthError};
use tollgate_fuzz::{Rendered, str_field};
use tollgate_http::dialect::{Dialect, ErrorStyle};
use tollgate_http::dialects::{Standard, TwilioV1, TwilioV2};
use tollgate_http::userinfo::BearerError;

#[derive(Arbitrary, Debug)]
struct Case {
    issued: ArbIssued,
    kind: u8,
    until: i64,
    retry_after: i64,
    description: String,
    forced_status: u8,
    json_body: bool,
    device: ArbDevice,
    user: ArbUser,
    scopes: Vec<String>,
    issuer: String,
    url: String,
}

#[derive(Arbitrary, Debug)]
struct ArbIssued {
    access_token: String,
    expires_in: i64,
    issued_at: i64,
    scope: String,
    refresh_token: Option<String>,
    refresh_token_expires_at: Option<i64>,
    id_token: Option<String>,
    dpop_bound: bool,
}

#[derive(Arbitrary, Debug)]
struct ArbDevice {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

#[derive(Arbitrary, Debug)]
struct ArbUser {
    sid: [u8; 16],
    account: [u8; 16],
    email: String,
    password_hash: String,
    first_name: Option<String>,
    last_name: Option<String>,
    friendly_name: Option<String>,
}

fn hex(b: &[u8; 16]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn kind_of(i: u8, until: i64, retry_after: i64) -> ErrorKind {
    match i % 16 {
        0 => ErrorKind::InvalidRequest,
        1 => ErrorKind::InvalidClient,
        2 => ErrorKind::InvalidGrant,
        3 => ErrorKind::UnauthorizedClient,
        4 => ErrorKind::UnsupportedGrantType,
        5 => ErrorKind::InvalidScope,
        6 => ErrorKind::InvalidTarget,
        7 => ErrorKind::AccessDenied,
        8 => ErrorKind::AuthorizationPending,
        9 => ErrorKind::SlowDown,
        10 => ErrorKind::ExpiredToken,
        11 => ErrorKind::InvalidToken,
        12 => ErrorKind::InsufficientScope,
        13 => ErrorKind::TooManyRequests { until, retry_after },
        14 => ErrorKind::ServerError,
        _ => ErrorKind::TemporarilyUnavailable { retry_after },
    }
}

fn is_twilio<D: Dialect>() -> bool {
    D::NAME != Standard::NAME
}

fn opt(v: &Value, name: &str) -> Option<String> {
    str_field(v, name).map(str::to_owned)
}

fn json_of(r: &Rendered) -> Value {
    assert!(r.content_type_is_json(), "not JSON: {:?}", r.headers);
    r.json()
}

fn check_token<D: Dialect>(issued: &Issued) {
    let r = Rendered::of(D::token_response(issued));
    let want = if D::NAME == TwilioV1::NAME {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    assert_eq!(r.status, want);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let v = json_of(&r);
    assert_eq!(str_field(&v, "access_token"), Some(&*issued.access_token));
    assert_eq!(opt(&v, "refresh_token"), issued.refresh_token);
    assert_eq!(opt(&v, "id_token"), issued.id_token);
    assert_eq!(str_field(&v, "token_type"), Some("Bearer"));
    assert_eq!(v["expires_in"].as_i64(), Some(issued.expires_in));
    if D::NAME == Standard::NAME {
        assert_eq!(str_field(&v, "scope"), Some(&*issued.scope));
        assert_eq!(v["created_at"].as_i64(), Some(issued.issued_at));
    }
    if D::NAME == TwilioV1::NAME {
        let at = &v["access_token_expires_at"];
        assert!(at.is_null() || at.as_str().is_some_and(|s| s.ends_with("+0000")));
    }
}

fn check_error<D: Dialect>(err: &OAuthError, style: ErrorStyle) {
    let r = Rendered::of(D::error_response(err, style));
    assert_eq!(r.header("cache-control"), Some("no-store"), "{err}");
    let retry = match err.kind {
        ErrorKind::TooManyRequests { retry_after, .. }
        | ErrorKind::TemporarilyUnavailable { retry_after } => Some(retry_after.max(1)),
        _ => None,
    };
    assert_eq!(
        r.header("retry-after").map(str::to_owned),
        retry.map(|s| s.to_string())
    );
    let v = json_of(&r);
    if is_twilio::<D>() {
        assert_eq!(v["status"].as_u64(), Some(u64::from(r.status.as_u16())));
        assert!(
            v["code"]
                .as_u64()
                .is_some_and(|c| (20000..21000).contains(&c))
        );
        assert_eq!(opt(&v, "message"), Some(err.to_string()));
        let more = str_field(&v, "more_info").unwrap_or_default();
        assert!(more.ends_with(&v["code"].to_string()), "{more}");
    } else {
        assert_eq!(str_field(&v, "error"), Some(err.kind.code()));
        assert_eq!(str_field(&v, "error_description"), Some(&*err.description));
        if let Some(status) = style.status {
            assert_eq!(r.status, status);
        }
        if err.kind == ErrorKind::InvalidClient {
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Basic"))
            );
        }
    }
    assert!(r.status.is_client_error() || r.status.is_server_error());

    // The same error on a bearer route (userinfo): the dialect's body plus a challenge.
    let b = Rendered::of(BearerError::<D>::from(err.clone()).into_response());
    assert_eq!(
        b.body,
        Rendered::of(D::error_response(err, ErrorStyle::default())).body
    );
    let challenge = b.header("www-authenticate");
    assert!(
        challenge.is_some_and(|c| c.starts_with("Bearer realm=\"tollgate\"")),
        "bearer error without a challenge: {:?}",
        b.headers.get("www-authenticate")
    );
}

fn check_device<D: Dialect>(d: &DeviceAuthorization) {
    let r = Rendered::of(D::device_response(d));
    if D::NAME == TwilioV2::NAME {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        return;
    }
    let v = json_of(&r);
    assert_eq!(str_field(&v, "device_code"), Some(&*d.device_code));
    assert_eq!(str_field(&v, "user_code"), Some(&*d.user_code));
    assert_eq!(
        str_field(&v, "verification_uri"),
        Some(&*d.verification_uri)
    );
    assert_eq!(
        str_field(&v, "verification_uri_complete"),
        Some(&*d.verification_uri_complete)
    );
    assert_eq!(v["expires_in"].as_i64(), Some(d.expires_in));
    assert_eq!(v["interval"].as_i64(), Some(d.interval));
}

fn check_userinfo<D: Dialect>(info: &UserInfo, issuer: &str) {
    let r = Rendered::of(D::userinfo_response(info, issuer));
    if D::NAME == TwilioV2::NAME {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        return;
    }
    assert_eq!(r.status, StatusCode::OK);
    let v = json_of(&r);
    let has = |s: &str| info.scopes.iter().any(|x| x == s);
    let u = &info.user;
    assert!(v.get("password_hash").is_none());
    let email = has("email").then(|| u.email.clone());
    assert_eq!(opt(&v, "email"), email);
    if D::NAME == Standard::NAME {
        assert_eq!(opt(&v, "sub"), Some(u.sid.to_string()));
        let profile = |f: &Option<String>| f.clone().filter(|_| has("profile"));
        assert_eq!(opt(&v, "given_name"), profile(&u.first_name));
        assert_eq!(opt(&v, "family_name"), profile(&u.last_name));
        assert_eq!(opt(&v, "nickname"), profile(&u.friendly_name));
        assert_eq!(
            opt(&v, "name").is_some(),
            has("profile") && u.display_name().is_some()
        );
    } else {
        assert_eq!(opt(&v, "user_sid"), Some(u.sid.to_string()));
        assert_eq!(opt(&v, "url"), Some(format!("{issuer}/v1/userinfo")));
    }
}

fn check_redirect<D: Dialect>(url: &str, issuer: &str) {
    let r = Rendered::of(D::authorize_redirect(url, issuer));
    if D::NAME == TwilioV2::NAME {
        let v = json_of(&r);
        if r.status == StatusCode::FOUND {
            let to = str_field(&v, "redirect_to").unwrap_or_default().to_owned();
            let location = r.headers.get("location").map(|l| l.as_bytes());
            assert_eq!(location, Some(to.as_bytes()));
            assert!(to.ends_with(url));
        } else {
            assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        }
    } else if r.status.is_redirection() {
        let location = r.headers.get("location").map(|l| l.as_bytes());
        assert_eq!(location, Some(url.as_bytes()));
    } else {
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

fn check_fallbacks<D: Dialect>() {
    let nf = Rendered::of(D::not_found());
    assert_eq!(nf.status, StatusCode::NOT_FOUND);
    json_of(&nf);
    let mna = Rendered::of(D::method_not_allowed());
    assert_eq!(mna.status, StatusCode::METHOD_NOT_ALLOWED);
    json_of(&mna);
}

fn render_all<D: Dialect>(c: &Case, issued: &Issued, err: &OAuthError, info: &UserInfo) {
    check_token::<D>(issued);
    let status = match c.forced_status % 4 {
        0 => None,
        1 => Some(StatusCode::PAYLOAD_TOO_LARGE),
        2 => Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        _ => Some(StatusCode::SERVICE_UNAVAILABLE),
    };
    check_error::<D>(
        err,
        ErrorStyle {
            status,
            json: c.json_body,
        },
    );
    if let Some(page) = D::authorize_error(err) {
        json_of(&Rendered::of(page));
    }
    let d = &c.device;
    check_device::<D>(&DeviceAuthorization {
        device_code: d.device_code.clone(),
        user_code: d.user_code.clone(),
        verification_uri: d.verification_uri.clone(),
        verification_uri_complete: d.verification_uri_complete.clone(),
        expires_in: d.expires_in,
        interval: d.interval,
    });
    check_userinfo::<D>(info, &c.issuer);
    check_redirect::<D>(&c.url, &c.issuer);
    check_fallbacks::<D>();
}

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let i = &c.issued;
    let issued = Issued {
        access_token: i.access_token.clone(),
        expires_in: i.expires_in,
        issued_at: i.issued_at,
        scope: i.scope.clone(),
        refresh_token: i.refresh_token.clone(),
        refresh_token_expires_at: i.refresh_token_expires_at,
        id_token: i.id_token.clone(),
        dpop_bound: i.dpop_bound,
    };
    let err = OAuthError::new(
        kind_of(c.kind, c.until, c.retry_after),
        c.description.clone(),
    );
    let (Ok(sid), Ok(account)) = (
        UserSid::parse(&format!("US{}", hex(&c.user.sid))),
        AccountSid::parse(&format!("AC{}", hex(&c.user.account))),
    ) else {
        panic!("generated SIDs must parse");
    };
    let info = UserInfo {
        user: User {
            sid,
            account_sid: account,
            email: c.user.email.clone(),
            password_hash: c.user.password_hash.clone(),
            first_name: c.user.first_name.clone(),
            last_name: c.user.last_name.clone(),
            friendly_name: c.user.friendly_name.clone(),
            created_at: 0,
            updated_at: 0,
            admin: false,
            email_verified: false,
        },
        scopes: c.scopes.clone(),
    };
    render_all::<Standard>(&c, &issued, &err, &info);
    render_all::<TwilioV2>(&c, &issued, &err, &info);
    render_all::<TwilioV1>(&c, &issued, &err, &info);
});
