//! Which unix socket: the rules in order, and the incus-user socket.

use super::{unix, World};
use crate::incus::config::{resolve, Address, Resolution};

#[test]
fn socket_rules_in_order() {
    let w = World::new();
    // Default: /var/lib/incus when /run/incus/unix.socket does not exist.
    assert_eq!(
        w.endpoint(None).addrs,
        [unix(
            w.path("var/unix.socket"),
            "the default daemon directory"
        )]
    );
    // /run/incus/unix.socket when it exists.
    let run = w.socket("run/unix.socket");
    assert_eq!(
        w.endpoint(None).addrs,
        [unix(&run, "the packaged daemon's run directory")]
    );
    // INCUS_DIR beats it.
    let env = w
        .env
        .clone()
        .with_var("INCUS_DIR", w.path("incusdir").to_str().unwrap());
    let Resolution::Native(e) = resolve(None, &env).unwrap() else {
        panic!()
    };
    assert_eq!(e.addrs, [unix(w.path("incusdir/unix.socket"), "INCUS_DIR")]);
    // INCUS_SOCKET beats INCUS_DIR.
    let env = env.with_var("INCUS_SOCKET", "/x/y.sock");
    let Resolution::Native(e) = resolve(None, &env).unwrap() else {
        panic!()
    };
    assert_eq!(e.addrs, [unix("/x/y.sock", "INCUS_SOCKET")]);
    // A remote's own unix: path beats them all, in both spellings.
    w.write(
        "conf/config.yml",
        "remotes:\n  a:\n    addr: unix:///srv/a.sock\n  b:\n    addr: unix:/srv/b.sock\n  c:\n    addr: unix://\n",
    );
    let Resolution::Native(a) = resolve(Some("a"), &env).unwrap() else {
        panic!()
    };
    assert_eq!(a.addrs, [unix("/srv/a.sock", "the remote's address")]);
    let Resolution::Native(b) = resolve(Some("b"), &env).unwrap() else {
        panic!()
    };
    assert_eq!(b.addrs, [unix("/srv/b.sock", "the remote's address")]);
    let Resolution::Native(c) = resolve(Some("c"), &env).unwrap() else {
        panic!()
    };
    assert_eq!(c.addrs, [unix("/x/y.sock", "INCUS_SOCKET")]);
    assert_eq!(c.tls, None);
}

#[test]
fn the_incus_user_socket_when_only_it_is_writable() {
    let w = World::new();
    let env = w
        .env
        .clone()
        .with_var("INCUS_DIR", w.path("incusdir").to_str().unwrap());
    // Only unix.socket.user exists (so only it is writable, even for root).
    let user = w.socket("incusdir/unix.socket.user");
    let Resolution::Native(e) = resolve(None, &env).unwrap() else {
        panic!()
    };
    assert_eq!(e.addrs.len(), 1);
    assert!(matches!(&e.addrs[0], Address::Unix { path, .. } if *path == user));
    assert_eq!(e.project.as_deref(), Some("user-1234"));
    // A project in the configuration wins over user-<euid>.
    w.write("conf/config.yml", "remotes:\n  local:\n    project: mine\n");
    let Resolution::Native(e) = resolve(None, &env).unwrap() else {
        panic!()
    };
    assert_eq!(e.project.as_deref(), Some("mine"));
    // Both there and unix.socket writable: the main socket.
    let main = w.socket("incusdir/unix.socket");
    let Resolution::Native(e) = resolve(None, &env).unwrap() else {
        panic!()
    };
    assert!(matches!(&e.addrs[0], Address::Unix { path, .. } if *path == main));
    // INCUS_SOCKET is taken as given, never the user socket.
    let env = env.with_var("INCUS_SOCKET", user.to_str().unwrap());
    let Resolution::Native(e) = resolve(None, &env).unwrap() else {
        panic!()
    };
    assert_eq!(e.project.as_deref(), Some("mine"));
}
