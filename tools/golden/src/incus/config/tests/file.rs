//! The `config.yml` files: where the user's is, and what they may say.

use std::fs;
use std::path::PathBuf;

use super::World;
use crate::error::Error;
use crate::incus::config::{config_dir, Config, Env};

#[test]
fn an_empty_or_sparse_file() {
    let w = World::new();
    w.write("conf/config.yml", "");
    let c = Config::load(&w.env).unwrap();
    assert_eq!(c.default_remote, "local");
    assert_eq!(c.remotes.keys().collect::<Vec<_>>(), ["local"]);
    w.write("conf/config.yml", "# nothing\nremotes:\naliases:\n");
    assert_eq!(Config::load(&w.env).unwrap().remotes.len(), 1);
    // Unknown keys (newer clients) are ignored; defaults filled in.
    w.write(
        "conf/config.yml",
        "defaults: {list_format: csv}\nremotes:\n  x:\n    addr: https://x:8443\n    keepalive: 30\n    credentials_helper: foo\n",
    );
    let x = Config::load(&w.env).unwrap().remotes["x"].clone();
    assert_eq!(
        (x.protocol.as_str(), x.auth_type.as_str()),
        ("incus", "tls")
    );
}

#[test]
fn a_malformed_file_is_bad_input_naming_it() {
    let w = World::new();
    w.write("conf/config.yml", "remotes: [oops\n");
    let e = Config::load(&w.env).unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e:?}");
    assert!(e.to_string().contains("config.yml"), "{e}");
    w.write("conf/config.yml", "remotes:\n  x:\n    public: maybe\n");
    assert!(Config::load(&w.env).is_err());
}

#[test]
fn yaml_1_1_booleans_as_go_reads_them() {
    let w = World::new();
    w.write(
        "conf/config.yml",
        "remotes:\n  a:\n    addr: https://a\n    public: yes\n  b:\n    addr: https://b\n    public: off\n",
    );
    let c = Config::load(&w.env).unwrap();
    assert!(c.remotes["a"].public);
    assert!(!c.remotes["b"].public);
    assert_eq!(
        c.remotes["a"].auth_type, "",
        "a public remote gets no auth_type"
    );
}

#[test]
fn config_dir_rules() {
    let w = World::new();
    let home = w.path("home");
    let base = Env::empty().with_var("HOME", home.to_str().unwrap());
    // INCUS_CONF first.
    assert_eq!(
        config_dir(&base.clone().with_var("INCUS_CONF", "/c")),
        Some(PathBuf::from("/c"))
    );
    // ~/.config/incus.
    assert_eq!(config_dir(&base), Some(home.join(".config/incus")));
    // XDG_CONFIG_HOME (absolute) when the legacy dir does not exist.
    let xdg = w.path("xdg");
    let env = base
        .clone()
        .with_var("XDG_CONFIG_HOME", xdg.to_str().unwrap());
    assert_eq!(config_dir(&env), Some(xdg.join("incus")));
    // A relative XDG_CONFIG_HOME is ignored, as Go's os.UserConfigDir does.
    let rel = base.clone().with_var("XDG_CONFIG_HOME", "rel");
    assert_eq!(config_dir(&rel), Some(home.join(".config/incus")));
    // The legacy dir while the XDG one does not exist; the XDG one once it does.
    fs::create_dir_all(home.join(".config/incus")).unwrap();
    assert_eq!(config_dir(&env), Some(home.join(".config/incus")));
    fs::create_dir_all(xdg.join("incus")).unwrap();
    assert_eq!(config_dir(&env), Some(xdg.join("incus")));
    // No HOME: the password database's home; neither: no directory.
    let mut nohome = Env::empty();
    nohome.passwd_home = Some(PathBuf::from("/pw"));
    assert_eq!(
        config_dir(&nohome),
        Some(PathBuf::from("/pw/.config/incus"))
    );
    assert_eq!(config_dir(&Env::empty()), None);
    let c = Config::load(&Env::empty()).unwrap();
    assert_eq!((c.dir, c.file), (None, None));
}

#[test]
fn config_path_expands_variables_as_go_does() {
    let w = World::new();
    w.write(
        "conf/config.yml",
        "default-remote: x\nremotes:\n  x:\n    addr: unix:///s\n",
    );
    let env = Env::empty()
        .with_var("BASE", w.tmp.path().to_str().unwrap())
        .with_var("INCUS_CONF", "$BASE/conf");
    let c = Config::load(&env).unwrap();
    assert_eq!(c.default_remote, "x");
    assert_eq!(c.dir, Some(w.path("conf")));
    let env = Env::empty().with_var("A", "1");
    assert_eq!(env.expand("a${A}b$A/$B/$/x$"), "a1b1//$/x$");
}
