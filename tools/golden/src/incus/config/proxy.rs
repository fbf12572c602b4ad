//! Whether the incus client would send a request to an HTTPS remote through a proxy.

use std::net::IpAddr;

use super::Env;

/// The HTTPS proxy the incus client would use for `url`, if any (its
/// `shared/proxy.FromEnvironment`: `HTTPS_PROXY`, `NO_PROXY`, localhost exempt).
pub(super) fn proxy_for(url: &str, env: &Env) -> Option<String> {
    let proxy = env.first_var(&["HTTPS_PROXY", "https_proxy"])?;
    let authority = url
        .strip_prefix("https://")
        .unwrap_or(url)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = strip_port(authority)
        .trim_matches(['[', ']'])
        .to_lowercase();
    if host == "localhost" {
        return None;
    }
    let ip: Option<IpAddr> = host.parse().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return None;
    }
    let no_proxy = env.first_var(&["NO_PROXY", "no_proxy"]).unwrap_or("");
    if no_proxy == "*" {
        return None;
    }
    let host = host.as_str();
    for p in no_proxy.split(',') {
        let p = p.trim().to_lowercase();
        if p.is_empty() {
            continue;
        }
        if ip.is_some_and(|ip| cidr_contains(&p, ip) == Some(true)) {
            return None;
        }
        let p = strip_port(&p).trim_matches(['[', ']']);
        if host == p {
            return None;
        }
        if let Some(bare) = p.strip_prefix('.') {
            if host.ends_with(p) || host == bare {
                return None;
            }
        } else if host.len() > p.len()
            && host.ends_with(p)
            && host.as_bytes()[host.len() - p.len() - 1] == b'.'
        {
            return None;
        }
    }
    Some(proxy.to_string())
}

/// "host:port" → "host" ("[v6]:port" → "[v6]"); a bare host as it is.
pub(super) fn strip_port(s: &str) -> &str {
    match (s.rfind(':'), s.rfind(']')) {
        (Some(c), Some(b)) if c > b => &s[..c],
        (Some(c), None) if s[..c].find(':').is_none() => &s[..c],
        _ => s,
    }
}

/// Is `ip` in the network `cidr` ("10.0.0.0/8")? `None`: not a CIDR.
pub(super) fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let (net, bits) = cidr.split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            Some(u32::from(n) & mask == u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            Some(u128::from(n) & mask == u128::from(i) & mask)
        }
        _ => Some(false),
    }
}
