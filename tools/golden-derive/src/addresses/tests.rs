use super::*;

fn used(addrs: &[&str]) -> BTreeMap<Ipv4Addr, String> {
    addrs
        .iter()
        .map(|a| (a.parse().unwrap(), format!("holder of {a}")))
        .collect()
}

#[test]
fn next_free_skips_used_network_and_broadcast() {
    let net: Ipv4Net = "10.0.0.0/24".parse().unwrap();
    let u = used(&["10.0.0.1", "10.0.0.2", "10.0.0.4"]);
    assert_eq!(next_free(net, &u), Some(Ipv4Addr::new(10, 0, 0, 3)));
    let full = used(&["10.0.0.1", "10.0.0.2"]);
    assert_eq!(next_free("10.0.0.0/30".parse().unwrap(), &full), None);
    let gw: Ipv4Net = "10.219.7.1/24".parse().unwrap();
    assert_eq!(gw.addr(), Ipv4Addr::new(10, 219, 7, 1));
    assert_eq!(gw.trunc().network(), Ipv4Addr::new(10, 219, 7, 0));
    assert!("none".parse::<Ipv4Net>().is_err());
    assert!("10.0.0.1/33".parse::<Ipv4Net>().is_err());
}

#[test]
fn a_fixed_address_must_be_a_free_host_of_the_subnet() {
    let n = Network {
        name: "br0".into(),
        net: Some("10.0.0.0/24".parse().unwrap()),
        used: used(&["10.0.0.1", "10.0.0.7"]),
    };
    assert!(check_fixed(&n, "10.0.0.9".parse().unwrap()).is_ok());
    for (bad, why) in [
        (
            "10.0.0.7",
            "already used on network br0 by holder of 10.0.0.7",
        ),
        ("10.0.0.1", "already used"),
        ("10.0.0.0", "the network address"),
        ("10.0.0.255", "the broadcast address"),
        ("10.0.1.5", "not in network br0's subnet 10.0.0.0/24"),
    ] {
        let e = check_fixed(&n, bad.parse().unwrap()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{bad}");
        assert!(e.to_string().contains(why), "{bad}: {e}");
    }
    // A host bridge: no subnet known, only the addresses held are refused.
    let host = Network {
        name: "br1".into(),
        net: None,
        used: used(&["192.168.1.4"]),
    };
    assert!(check_fixed(&host, "192.168.1.5".parse().unwrap()).is_ok());
    assert!(check_fixed(&host, "192.168.1.4".parse().unwrap()).is_err());
}

#[test]
fn too_few_addresses_is_said_once_every_clone_is_counted() {
    let mut p = AddressPlan {
        of: vec![0],
        nets: vec![Network {
            name: "br0".into(),
            net: Some("10.0.0.0/29".parse().unwrap()),
            used: used(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        }],
        given: vec![0],
        short: vec![0],
        _locks: Vec::new(),
    };
    let got: Vec<_> = (0..5).map(|_| p.next(0).unwrap()).collect();
    assert_eq!(
        got,
        [
            Some(Ipv4Addr::new(10, 0, 0, 4)),
            Some(Ipv4Addr::new(10, 0, 0, 5)),
            Some(Ipv4Addr::new(10, 0, 0, 6)),
            None,
            None
        ]
    );
    let e = p.finish().unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .contains("network br0 has 3 free address(es), and 5 clones need one"),
        "{e}"
    );
}
