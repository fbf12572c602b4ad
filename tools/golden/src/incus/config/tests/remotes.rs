//! The remotes: the file `incus remote add` writes, none, the global ones, and which
//! remote is chosen.

use super::{unix, World, REMOTE_ADD};
use crate::error::Error;
use crate::incus::config::{resolve, Address, Config, Resolution};

#[test]
fn the_file_incus_remote_add_writes() {
    let w = World::new();
    w.write("conf/config.yml", REMOTE_ADD);
    w.client_cert();
    w.write(
        "conf/servercerts/lo.crt",
        include_str!("../../testdata/server.crt"),
    );
    let c = Config::load(&w.env).unwrap();
    assert_eq!(c.default_remote, "lo");
    assert_eq!(c.file, Some(w.path("conf/config.yml")));
    assert_eq!(
        c.remotes.keys().collect::<Vec<_>>(),
        ["images", "lo", "local"]
    );
    let lo = c.remote("lo").unwrap();
    assert_eq!(
        (lo.protocol.as_str(), lo.auth_type.as_str(), lo.public),
        ("incus", "tls", false)
    );
    // The default remote is lo: HTTPS with the pinned server and the client cert.
    let e = w.endpoint(None);
    assert_eq!(e.remote, "lo");
    assert_eq!(e.project, None, "project default is no project");
    assert_eq!(e.addrs, [Address::Https("https://127.0.0.1:8443".into())]);
    let tls = e.tls.unwrap();
    assert_eq!(tls.client_cert.path, w.path("conf/client.crt"));
    assert_eq!(tls.client_key.path, w.path("conf/client.key"));
    assert_eq!(
        tls.server_cert.unwrap().path,
        w.path("conf/servercerts/lo.crt")
    );
    assert_eq!(tls.ca, None);
    assert!(!tls.allow_tls12);
    assert!(!format!("{:?}", tls.client_key).contains("PRIVATE"));
}

#[test]
fn instance_servers_leave_out_image_servers() {
    let w = World::new();
    w.write("conf/config.yml", REMOTE_ADD);
    let c = Config::load(&w.env).unwrap();
    assert_eq!(c.instance_servers().collect::<Vec<_>>(), ["lo", "local"]);
    let c = Config::load(&World::new().env).unwrap();
    assert_eq!(c.instance_servers().collect::<Vec<_>>(), ["local"]);
}

#[test]
fn no_file_means_the_built_in_local_remote() {
    let w = World::new();
    let c = Config::load(&w.env).unwrap();
    assert_eq!(c.file, None);
    assert_eq!(c.default_remote, "local");
    assert_eq!(c.remotes.keys().collect::<Vec<_>>(), ["images", "local"]);
    let e = w.endpoint(None);
    assert_eq!(e.remote, "local");
    assert_eq!(
        e.addrs,
        [unix(
            w.path("var/unix.socket"),
            "the default daemon directory"
        )]
    );
    assert_eq!(e.tls, None);
    assert_eq!(
        e.describe(),
        format!("unix socket {}", w.path("var/unix.socket").display())
    );
}

#[test]
fn incus_remote_overrides_default_remote() {
    let w = World::new();
    w.write("conf/config.yml", REMOTE_ADD);
    w.client_cert();
    let env = w.env.clone().with_var("INCUS_REMOTE", "local");
    assert!(matches!(
        resolve(None, &env).unwrap(),
        Resolution::Native(e) if e.remote == "local"
    ));
    // A name given beats both.
    let env = w.env.clone().with_var("INCUS_REMOTE", "local");
    let Resolution::Native(e) = resolve(Some("lo"), &env).unwrap() else {
        panic!()
    };
    assert_eq!(e.remote, "lo");
    // Empty is unset.
    let env = w.env.clone().with_var("INCUS_REMOTE", "");
    assert_eq!(Config::load(&env).unwrap().default_remote, "lo");
    // Also without a file (incus writes its default file on its first run).
    let w2 = World::new();
    let env = w2.env.clone().with_var("INCUS_REMOTE", "nowhere");
    let e = resolve(None, &env).unwrap_err();
    assert!(matches!(e, Error::Usage(_)));
    assert!(
        e.to_string()
            .contains("unknown remote nowhere (named by INCUS_REMOTE)"),
        "{e}"
    );
}

#[test]
fn an_unknown_remote_is_bad_input() {
    let w = World::new();
    w.write("conf/config.yml", REMOTE_ADD);
    let e = w.resolve(Some("nowhere")).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(e.to_string().starts_with("unknown remote nowhere: "), "{e}");
    w.write("conf/config.yml", "default-remote: gone\n");
    let e = w.resolve(None).unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown remote gone (the default-remote"),
        "{e}"
    );
}

#[test]
fn local_is_always_the_built_in_socket_keeping_its_project() {
    let w = World::new();
    w.write(
        "conf/config.yml",
        "remotes:\n  local:\n    addr: https://elsewhere:8443\n    project: lab\n",
    );
    let e = w.endpoint(Some("local"));
    assert_eq!(
        e.addrs,
        [unix(
            w.path("var/unix.socket"),
            "the default daemon directory"
        )]
    );
    assert_eq!(e.project.as_deref(), Some("lab"));
}

#[test]
fn global_remotes_fill_in_what_the_user_file_lacks() {
    let w = World::new();
    w.client_cert();
    w.write(
        "conf/config.yml",
        "default-remote: local\nremotes:\n  shared:\n    addr: https://mine:8443\n",
    );
    w.write(
        "global/config.yml",
        "default-remote: shared\nremotes:\n  shared:\n    addr: https://theirs:8443\n  site:\n    addr: https://site:8443\n    protocol: incus\n    public: false\n",
    );
    w.write(
        "global/servercerts/site.crt",
        include_str!("../../testdata/server.crt"),
    );
    w.write(
        "conf/servercerts/site.crt",
        include_str!("../../testdata/other.crt"),
    );
    let c = Config::load(&w.env).unwrap();
    assert_eq!(
        c.default_remote, "local",
        "the global default-remote is ignored"
    );
    assert_eq!(
        c.remotes["shared"].addrs,
        ["https://mine:8443"],
        "the user's wins"
    );
    assert!(!c.remotes["shared"].global);
    assert!(c.remotes["site"].global);
    // A global remote's pinned certificate comes from the global directory,
    // its client certificate from the user's.
    let tls = w.endpoint(Some("site")).tls.unwrap();
    assert_eq!(
        tls.server_cert.unwrap().path,
        w.path("global/servercerts/site.crt")
    );
    assert_eq!(tls.client_cert.path, w.path("conf/client.crt"));
    // A global file that does not parse is an error too.
    w.write("global/config.yml", "remotes: [\n");
    assert!(Config::load(&w.env).is_err());
}
