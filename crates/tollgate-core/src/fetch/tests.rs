use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn special_ranges_are_classified() {
    let cases = [
        ("127.0.0.1", Some(Special::Loopback)),
        ("127.0.0.2", Some(Special::Loopback)),
        ("::1", Some(Special::Loopback)),
        ("::ffff:127.0.0.1", Some(Special::Loopback)),
        ("10.0.0.1", Some(Special::Private)),
        ("172.31.255.255", Some(Special::Private)),
        ("192.168.1.1", Some(Special::Private)),
        ("::ffff:10.0.0.1", Some(Special::Private)),
        ("100.64.0.1", Some(Special::Cgnat)),
        ("100.100.100.200", Some(Special::Cgnat)),
        ("169.254.169.254", Some(Special::LinkLocal)),
        ("::ffff:169.254.169.254", Some(Special::LinkLocal)),
        ("64:ff9b::a9fe:a9fe", Some(Special::LinkLocal)),
        ("2002:a9fe:a9fe::1", Some(Special::LinkLocal)),
        ("fe80::1", Some(Special::LinkLocal)),
        ("fd00::1", Some(Special::UniqueLocal)),
        ("fd00:ec2::254", Some(Special::UniqueLocal)),
        ("0.0.0.0", Some(Special::Unspecified)),
        ("::", Some(Special::Unspecified)),
        ("224.0.0.1", Some(Special::Multicast)),
        ("ff02::1", Some(Special::Multicast)),
        ("255.255.255.255", Some(Special::Broadcast)),
        ("192.0.2.1", Some(Special::Documentation)),
        ("2001:db8::1", Some(Special::Documentation)),
        ("168.63.129.16", Some(Special::Metadata)),
        ("::127.0.0.1", Some(Special::Reserved)),
        ("2001::1", Some(Special::Reserved)),
        ("240.0.0.1", Some(Special::Reserved)),
        ("8.8.8.8", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("::ffff:8.8.8.8", None),
        ("2606:4700::1111", None),
    ];
    for (addr, want) in cases {
        assert_eq!(classify(ip(addr)), want, "{addr}");
    }
}

fn refused(policy: &FetchPolicy, url: &str) -> bool {
    matches!(policy.check_url(url), Err(FetchError::Refused(_)))
}

#[test]
fn hostile_urls_are_refused_without_the_development_allowance() {
    let strict = FetchPolicy::default();
    for url in [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/jwks",
        "https://[fd00::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",
        "http://127.1/jwks",
        "http://2130706433/jwks",
        "http://0x7f000001/jwks",
        "http://127.0.0.2/jwks",
        "https://127.0.0.1/jwks",
        "https://localhost/jwks",
        "https://LOCALHOST./jwks",
        "https://keys.localhost/jwks",
        "http://svc:s3cret@127.0.0.1:8080/jwks",
        "https://svc:s3cret@keys.example/jwks",
        "https://svc@keys.example/jwks",
        "http://keys.example/jwks",
        "ftp://keys.example/jwks",
        "file:///etc/passwd",
        "not a url",
    ] {
        assert!(refused(&strict, url), "{url} must be refused");
    }
    assert!(strict.check_url("https://keys.example/jwks").is_ok());
    assert!(strict.check_url("https://8.8.8.8/jwks").is_ok());
}

#[test]
fn the_development_allowance_admits_loopback_only() {
    let dev = FetchPolicy::new(&[], true).expect("policy");
    assert!(dev.check_url("http://127.0.0.1:9/jwks").is_ok());
    assert!(dev.check_url("http://localhost:9/jwks").is_ok());
    assert!(dev.check_url("http://[::1]:9/jwks").is_ok());
    assert!(refused(&dev, "http://keys.example/jwks"));
    assert!(refused(&dev, "http://10.0.0.1/jwks"));
    assert!(refused(&dev, "https://169.254.169.254/"));
    assert!(refused(&dev, "http://svc:s3cret@127.0.0.1:9/jwks"));
}

#[test]
fn operators_allow_list_hosts_and_networks_over_https() {
    let allow = ["10.1.2.0/24".to_owned(), "Keys.Internal.".to_owned()];
    let p = FetchPolicy::new(&allow, false).expect("policy");
    assert!(p.check_url("https://10.1.2.7/jwks").is_ok());
    assert!(refused(&p, "https://10.1.3.7/jwks"));
    assert!(refused(&p, "http://10.1.2.7/jwks"));
    assert!(p.permits("keys.internal", ip("10.9.9.9")));
    assert!(p.permits("other.example", ip("::ffff:10.1.2.9")));
    assert!(!p.permits("other.example", ip("10.9.9.9")));
    assert!(!p.permits("other.example", ip("127.0.0.1")));
    assert!(FetchPolicy::new(&["10.0.0.0/33".to_owned()], false).is_err());
    assert!(FetchPolicy::new(&["https://x/".to_owned()], false).is_err());
}

fn forbidden_v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(|b| Ipv4Addr::from(0x7f00_0000 | (b & 0x00ff_ffff))),
        any::<u32>().prop_map(|b| Ipv4Addr::from(0x0a00_0000 | (b & 0x00ff_ffff))),
        any::<u32>().prop_map(|b| Ipv4Addr::from(0xac10_0000 | (b & 0x000f_ffff))),
        any::<u32>().prop_map(|b| Ipv4Addr::from(0xc0a8_0000 | (b & 0x0000_ffff))),
        any::<u32>().prop_map(|b| Ipv4Addr::from(0xa9fe_0000 | (b & 0x0000_ffff))),
        any::<u32>().prop_map(|b| Ipv4Addr::from(0x6440_0000 | (b & 0x003f_ffff))),
    ]
}

proptest! {
    #[test]
    fn mapped_forms_classify_as_their_ipv4_address(bits in any::<u32>()) {
        let v4 = Ipv4Addr::from(bits);
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        prop_assert_eq!(classify(mapped), classify(IpAddr::V4(v4)));
        let p = FetchPolicy::default();
        prop_assert_eq!(p.permits("h", mapped), p.permits("h", IpAddr::V4(v4)));
    }

    #[test]
    fn loopback_private_link_local_and_cgnat_are_never_fetched(v4 in forbidden_v4()) {
        let p = FetchPolicy::default();
        prop_assert!(!p.permits("h", IpAddr::V4(v4)));
        prop_assert!(!p.permits("h", IpAddr::V6(v4.to_ipv6_mapped())));
        let url = format!("https://{v4}/jwks");
        prop_assert!(p.check_url(&url).is_err());
        let decimal = format!("https://{}/jwks", u32::from(v4));
        prop_assert!(p.check_url(&decimal).is_err());
    }

    #[test]
    fn unique_local_addresses_are_never_fetched(low in any::<u128>()) {
        let a = Ipv6Addr::from((0xfc00u128 << 112) | (low >> 7));
        prop_assert!(!FetchPolicy::default().permits("h", IpAddr::V6(a)));
    }
}
