//! Special-use address ranges (IANA IPv4/IPv6 special-purpose registries, plus cloud metadata
//! endpoints) that outbound fetches must not reach unless allow-listed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public unicast one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Loopback,
    /// RFC 1918.
    Private,
    /// RFC 6598 shared address space (carrier-grade NAT; Alibaba's metadata service).
    Cgnat,
    /// 169.254/16 and fe80::/10; 169.254.169.254 is the usual metadata service.
    LinkLocal,
    /// fc00::/7 (AWS's IPv6 metadata service is fd00:ec2::254).
    UniqueLocal,
    Unspecified,
    Multicast,
    Broadcast,
    Documentation,
    /// Cloud metadata endpoints on otherwise public addresses (Azure's wire server).
    Metadata,
    /// Reserved, benchmarking, protocol-assignment and transition ranges.
    Reserved,
}

const V4: &[(u32, u8, Special)] = &[
    (0x0000_0000, 8, Special::Unspecified),
    (0x0a00_0000, 8, Special::Private),
    (0x6440_0000, 10, Special::Cgnat),
    (0x7f00_0000, 8, Special::Loopback),
    (0xa9fe_0000, 16, Special::LinkLocal),
    (0xac10_0000, 12, Special::Private),
    (0xc000_0000, 24, Special::Reserved),
    (0xc000_0200, 24, Special::Documentation),
    (0xc058_6300, 24, Special::Reserved),
    (0xc0a8_0000, 16, Special::Private),
    (0xc612_0000, 15, Special::Reserved),
    (0xc633_6400, 24, Special::Documentation),
    (0xcb00_7100, 24, Special::Documentation),
    (0xa83f_8110, 32, Special::Metadata),
    (0xffff_ffff, 32, Special::Broadcast),
    (0xe000_0000, 4, Special::Multicast),
    (0xf000_0000, 4, Special::Reserved),
];

const V6: &[(u128, u8, Special)] = &[
    (0, 128, Special::Unspecified),
    (1, 128, Special::Loopback),
    // IPv4-compatible (deprecated) addresses.
    (0, 96, Special::Reserved),
    (0x0064_ff9b_0001 << 80, 48, Special::Reserved),
    (0x0100 << 112, 64, Special::Reserved),
    // Teredo tunnels to arbitrary IPv4 addresses.
    (0x2001_0000 << 96, 32, Special::Reserved),
    (0x2001_0db8 << 96, 32, Special::Documentation),
    (0x3fff << 112, 20, Special::Documentation),
    (0xfc00 << 112, 7, Special::UniqueLocal),
    (0xfe80 << 112, 10, Special::LinkLocal),
    (0xfec0 << 112, 10, Special::Reserved),
    (0xff00 << 112, 8, Special::Multicast),
];

fn in_prefix<const BITS: u32>(addr: u128, net: u128, len: u8) -> bool {
    let shift = BITS - u32::from(len);
    // A zero-length prefix would shift by the full width; none is listed, but stay total.
    addr.checked_shr(shift) == net.checked_shr(shift)
}

fn classify_v4(a: Ipv4Addr) -> Option<Special> {
    let bits = u128::from(u32::from(a));
    V4.iter()
        .find(|(net, len, _)| in_prefix::<32>(bits, u128::from(*net), *len))
        .map(|(_, _, s)| *s)
}

/// IPv4 addresses embedded in IPv6 forms that reach them: mapped (`::ffff:a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(a);
    if let Some(v4) = a.to_ipv4_mapped() {
        return Some(v4);
    }
    if in_prefix::<128>(bits, 0x0064_ff9b << 96, 96) {
        return Some(Ipv4Addr::from(bits as u32));
    }
    if in_prefix::<128>(bits, 0x2002 << 112, 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

fn classify_v6(a: Ipv6Addr) -> Option<Special> {
    if let Some(v4) = embedded_v4(a) {
        return classify_v4(v4);
    }
    let bits = u128::from(a);
    V6.iter()
        .find(|(net, len, _)| in_prefix::<128>(bits, *net, *len))
        .map(|(_, _, s)| *s)
}

/// The special-use range `ip` falls in; `None` for a public unicast address.
pub fn classify(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => classify_v6(a),
    }
}
