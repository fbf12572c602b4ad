//! The addresses of a remote, and what the native client does not speak.

use super::World;
use crate::error::Error;
use crate::incus::config::Address;

#[test]
fn several_addresses_from_the_last_working_one() {
    let w = World::new();
    w.client_cert();
    w.write(
        "conf/config.yml",
        "remotes:\n  c:\n    addr: https://m1:8443, https://m2:8443,,https://m3:8443\n    last_working_address: https://m2:8443\n  d:\n    addr: https://m1:8443,https://m2:8443\n",
    );
    let e = w.endpoint(Some("c"));
    assert_eq!(
        e.addrs,
        ["https://m2:8443", "https://m3:8443", "https://m1:8443"].map(|a| Address::Https(a.into()))
    );
    let e = w.endpoint(Some("d"));
    assert_eq!(e.addrs[0], Address::Https("https://m1:8443".into()));
    // No address at all.
    w.write("conf/config.yml", "remotes:\n  e:\n    protocol: incus\n");
    let err = w.resolve(Some("e")).unwrap_err();
    assert!(err.to_string().contains("remote e has no address"), "{err}");
}

#[test]
fn what_is_not_spoken_is_unsupported_naming_the_remote() {
    let w = World::new();
    w.client_cert();
    w.write(
        "conf/config.yml",
        "remotes:
  images:
    addr: https://images.example
    protocol: simplestreams
    public: true
  oci:
    addr: https://docker.example
    protocol: oci
    public: false
  sso:
    addr: https://sso:8443
    auth_type: oidc
  old:
    addr: https://old:8443
    auth_type: candid
  plain:
    addr: http://plain:8443
",
    );
    let u = w.unsupported(Some("images"));
    assert_eq!(u.remote, "images");
    assert!(!u.fallback, "incus refuses an image server too");
    assert!(!w.unsupported(Some("oci")).fallback);
    assert!(w.unsupported(Some("sso")).fallback, "incus speaks OIDC");
    assert!(u.reason.contains("public image server"), "{u}");
    let u = w.unsupported(Some("oci"));
    assert!(u.reason.contains("oci protocol"), "{u}");
    let u = w.unsupported(Some("sso"));
    assert!(u.to_string().starts_with("remote sso: "), "{u}");
    assert!(u.reason.contains("OIDC"), "{u}");
    assert!(w.unsupported(Some("old")).reason.contains("candid"));
    assert!(w
        .unsupported(Some("plain"))
        .reason
        .contains("neither unix: nor https://"));
    let e = w.unsupported(Some("sso")).into_error();
    assert!(matches!(e, Error::Usage(_)));
    assert!(!e.to_string().contains('\n'));
}
