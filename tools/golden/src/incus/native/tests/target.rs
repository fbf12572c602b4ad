//! Remote addresses read as connection targets.

use crate::incus::config::Address;
use crate::incus::native::target::Target;

#[test]
fn https_addresses_are_parsed() {
    let t = Target::from_address(&Address::Https("https://[::1]:9443/base".into())).unwrap();
    let Target::Https {
        host,
        port,
        authority,
        prefix,
        ..
    } = t
    else {
        panic!()
    };
    assert_eq!(
        (host.as_str(), port, authority.as_str(), prefix.as_str()),
        ("::1", 9443, "[::1]:9443", "/base")
    );
    let t = Target::from_address(&Address::Https("https://h.example".into())).unwrap();
    assert!(matches!(t, Target::Https { port: 443, .. }));
    assert!(Target::from_address(&Address::Https("http://h".into())).is_err());
}
