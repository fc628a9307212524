//! RFC 6238 time-based one-time passwords (HMAC-SHA-1, 6 digits, 30-second steps: what every
//! authenticator app reads from an `otpauth://` URI), on aws-lc-rs's HMAC.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

/// RFC 6238 section 4: X, the time step.
pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;
/// RFC 4226 section 4: at least 128 bits; 160 is what RFC 6238's SHA-1 examples use.
pub const SECRET_LEN: usize = 20;
/// Steps either side of now that are accepted (RFC 6238 section 5.2: clock drift).
const WINDOW: i64 = 1;

/// The time step `t` falls in.
pub fn step(t: i64) -> i64 {
    t.div_euclid(STEP_SECS)
}

/// RFC 4226 HOTP value for counter `counter`, as `DIGITS` decimal digits.
pub fn hotp(secret: &[u8], counter: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let h = tag.as_ref();
    // RFC 4226 section 5.3: dynamic truncation.
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    let code = bin % 10u32.pow(DIGITS);
    format!("{code:0width$}", width = DIGITS as usize)
}

/// The code an authenticator shows at time `t`.
pub fn code_at(secret: &[u8], t: i64) -> String {
    hotp(secret, step(t))
}

/// The step whose code `code` is, within the drift window around `now` and after
/// `last_step` (a code is good once); compared in constant time.
pub fn verify(secret: &[u8], code: &str, now: i64, last_step: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step(now);
    let mut found = None;
    // Every candidate is computed and compared, whichever matches.
    for s in (now - WINDOW)..=(now + WINDOW) {
        let same: bool = hotp(secret, s).as_bytes().ct_eq(code.as_bytes()).into();
        if same && s > last_step && found.is_none() {
            found = Some(s);
        }
    }
    found
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (the form `otpauth://` URIs and apps use).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buf: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://totp/` URI an authenticator app scans (the Key Uri Format apps share).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes())
            .collect::<String>()
            .replace('+', "%20");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("secret", &base32(secret))
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &STEP_SECS.to_string())
        .finish();
    format!("otpauth://totp/{label}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors_last_six_digits() {
        // Appendix B lists 8 digits; a 6-digit code is the same value mod 10^6.
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(RFC_SECRET, t), eight[2..], "t = {t}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let expected = ["755224", "287082", "359152", "969429", "338314"];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, i as i64), *e);
        }
    }

    #[test]
    fn verify_accepts_one_step_of_drift_once() {
        let now = 1_234_567_890;
        let code = code_at(RFC_SECRET, now - STEP_SECS);
        let s = verify(RFC_SECRET, &code, now, 0).expect("previous step accepted");
        assert_eq!(s, step(now) - 1);
        assert_eq!(verify(RFC_SECRET, &code, now, s), None, "used once");
        let old = code_at(RFC_SECRET, now - 2 * STEP_SECS);
        assert_eq!(verify(RFC_SECRET, &old, now, 0), None);
        assert_eq!(verify(RFC_SECRET, "12345", now, 0), None);
        assert_eq!(verify(RFC_SECRET, "abcdef", now, 0), None);
    }

    #[test]
    fn base32_matches_rfc4648_section_10() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn otpauth_uri_names_issuer_and_account() {
        let uri = otpauth_uri("auth.example", "a b@example.com", b"fo");
        assert!(uri.starts_with(
            "otpauth://totp/auth.example%3Aa%20b%40example.com?secret=MZXQ&issuer=auth.example"
        ));
    }
}
