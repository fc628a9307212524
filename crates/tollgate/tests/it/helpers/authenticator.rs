//! What an authenticator app does with the key the setup page shows.

/// RFC 4648 base32, as an authenticator app reads the key.
pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buf, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.chars() {
        buf = (buf << 5) | ALPHABET.find(c).expect("base32 character") as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}
