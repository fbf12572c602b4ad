//! Whether an HTTPS proxy applies to a remote.

use super::World;
use crate::incus::config::proxy::{cidr_contains, strip_port};
use crate::incus::config::{resolve, Env, Resolution};

#[test]
fn an_https_proxy_that_applies_is_unsupported() {
    let w = World::new();
    w.client_cert();
    w.write(
        "conf/config.yml",
        "remotes:
  far:
    addr: https://far.example.org:8443
  near:
    addr: https://127.0.0.1:8443
  lan:
    addr: https://10.1.2.3:8443
  v6:
    addr: https://[::1]:8443
",
    );
    let env = w.env.clone().with_var("https_proxy", "http://proxy:3128");
    let kind = |env: &Env, r: &str| match resolve(Some(r), env).unwrap() {
        Resolution::Native(_) => "native",
        Resolution::Unsupported(_) => "unsupported",
    };
    assert_eq!(kind(&env, "far"), "unsupported");
    assert_eq!(kind(&env, "near"), "native", "loopback is never proxied");
    assert_eq!(kind(&env, "v6"), "native");
    assert_eq!(kind(&env, "lan"), "unsupported");
    for no in ["*", "example.org", ".example.org", "far.example.org:8443"] {
        let env = env.clone().with_var("NO_PROXY", no);
        assert_eq!(kind(&env, "far"), "native", "NO_PROXY={no}");
    }
    let env = env.with_var("no_proxy", "10.0.0.0/8,ample.org");
    assert_eq!(kind(&env, "lan"), "native");
    assert_eq!(kind(&env, "far"), "unsupported", "a suffix is not a domain");
    // HTTP_PROXY alone does not apply to HTTPS (incus does not fall back to it).
    let env = w.env.clone().with_var("HTTP_PROXY", "http://proxy:3128");
    assert_eq!(kind(&env, "far"), "native");
    let u = match resolve(Some("far"), &w.env.clone().with_var("HTTPS_PROXY", "p:1")).unwrap() {
        Resolution::Unsupported(u) => u,
        Resolution::Native(_) => panic!(),
    };
    assert!(u.reason.contains("HTTPS proxy p:1"), "{u}");
}

#[test]
fn strip_port_and_cidr() {
    assert_eq!(strip_port("a:1"), "a");
    assert_eq!(strip_port("[::1]:1"), "[::1]");
    assert_eq!(strip_port("[::1]"), "[::1]");
    assert_eq!(strip_port("::1"), "::1");
    assert_eq!(
        cidr_contains("10.0.0.0/8", "10.9.9.9".parse().unwrap()),
        Some(true)
    );
    assert_eq!(
        cidr_contains("10.0.0.0/8", "11.0.0.1".parse().unwrap()),
        Some(false)
    );
    assert_eq!(
        cidr_contains("0.0.0.0/0", "1.2.3.4".parse().unwrap()),
        Some(true)
    );
    assert_eq!(
        cidr_contains("fd00::/8", "fd12::1".parse().unwrap()),
        Some(true)
    );
    assert_eq!(cidr_contains("x", "fd12::1".parse().unwrap()), None);
}
