//! The native Incus client (`golden::incus::{config, native}`) against the real
//! private daemon: over its unix socket, and over HTTPS with the configuration the
//! real `incus remote add` writes (a throwaway `INCUS_CONF`, loopback inside the
//! daemon's network namespace).

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use golden::incus::config::{self, Env, Resolution};
use golden::incus::native::Native;
use golden::Error;
use golden_tests::*;
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(30);

/// This process's environment aimed at the private daemon (as the harness's commands).
fn env() -> Env {
    Env::from_process()
        .with_var("INCUS_DIR", incus_dir())
        .with_var("INCUS_CONF", incus_conf())
        .with_var("INCUS_SOCKET", "")
        .with_var("INCUS_REMOTE", "")
}

fn connect(env: &Env, remote: Option<&str>, timeout: Duration) -> Native {
    match config::resolve(remote, env).unwrap() {
        Resolution::Native(e) => Native::connect(&e, timeout).unwrap(),
        Resolution::Unsupported(u) => panic!("{u}"),
    }
}

fn local() -> Native {
    require_daemon();
    connect(&env(), None, TIMEOUT)
}

#[test]
fn get_1_0_over_the_unix_socket() {
    let c = local();
    assert_eq!(
        c.address(),
        format!("unix socket {}/unix.socket", incus_dir())
    );
    let r = c.request("GET", "/1.0", None, &[]).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body["api_version"], "1.0");
    assert_eq!(r.body["auth"], "trusted");
    assert_eq!(r.operation, None);
    // The same answer as the incus client's.
    let theirs: serde_json::Value = serde_json::from_str(&incus_ok(&["query", "/1.0"])).unwrap();
    assert_eq!(r.body["api_extensions"], theirs["api_extensions"]);
}

#[test]
fn an_unknown_instance_is_404() {
    let c = local();
    let path = "/1.0/instances/golden-native-nothing?project=default";
    let e = c.try_request("GET", path, None, &[]).unwrap().unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let e = c.request("GET", path, None, &[]).unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
    assert_eq!(golden::incus::Kind::of(&e), golden::incus::Kind::NotFound);
}

#[test]
fn etag_read_and_if_match() {
    let p = Project::new("native-etag");
    let c = local();
    let path = format!("/1.0/projects/{}", p.name);
    let r = c.request("GET", &path, None, &[]).unwrap();
    let etag = r.etag.clone().expect("an ETag on a project");
    let put = json!({"config": r.body["config"], "description": "changed by golden"});

    // A stale ETag: 412, nothing changed.
    let e = c
        .try_request(
            "PUT",
            &path,
            Some(&put),
            &[("If-Match", "\"0123456789abcdef\"")],
        )
        .unwrap()
        .unwrap_err();
    assert!(e.is_precondition_failed(), "{e:?}");
    let e = c
        .request(
            "PUT",
            &path,
            Some(&put),
            &[("If-Match", "\"0123456789abcdef\"")],
        )
        .unwrap_err();
    assert!(matches!(e, Error::Incus(_)), "{e:?}");
    assert_eq!(
        c.request("GET", &path, None, &[]).unwrap().body["description"],
        ""
    );

    // The ETag just read: done, and the ETag moves on.
    c.request("PUT", &path, Some(&put), &[("If-Match", &etag)])
        .unwrap();
    let after = c.request("GET", &path, None, &[]).unwrap();
    assert_eq!(after.body["description"], "changed by golden");
    assert_ne!(after.etag.as_deref(), Some(etag.as_str()));
}

#[test]
fn an_operation_and_the_files_api() {
    let p = Project::new("native-ops");
    p.instance("f", None);
    let c = local();

    // An async request, waited for.
    let r = c
        .request(
            "POST",
            &format!("/1.0/instances/f/snapshots?project={}", p.name),
            Some(&json!({"name": "s1"})),
            &[],
        )
        .unwrap();
    assert_eq!(r.status, 202);
    let op = r.operation.expect("an operation");
    let mut done = None;
    for _ in 0..10 {
        done = c.wait_operation(&op, 5).unwrap();
        if done.is_some() {
            break;
        }
    }
    assert_eq!(done.expect("the snapshot made")["status"], "Success");
    assert_eq!(p.snapshots("f"), ["s1"]);
    // run() does both, and a failed operation is the daemon's error.
    c.run(
        "POST",
        &format!("/1.0/instances/f/snapshots?project={}", p.name),
        Some(&json!({"name": "s2"})),
        &[],
    )
    .unwrap();
    assert_eq!(p.snapshots("f"), ["s1", "s2"]);

    // A file written with its owner and mode, read back.
    let file = format!("/1.0/instances/f/files?path=/root/key&project={}", p.name);
    c.request_bytes(
        "POST",
        &file,
        Some(b"secret\n"),
        &[
            ("X-Incus-uid", "0"),
            ("X-Incus-gid", "0"),
            ("X-Incus-mode", "0600"),
            ("X-Incus-type", "file"),
        ],
    )
    .unwrap();
    let r = c.request_bytes("GET", &file, None, &[]).unwrap();
    assert_eq!(r.body, b"secret\n");
    assert_eq!(r.header("X-Incus-mode"), Some("0600"));
    let e = c
        .try_request_bytes(
            "GET",
            &format!("/1.0/instances/f/files?path=/root/none&project={}", p.name),
            None,
            &[],
        )
        .unwrap()
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[test]
fn a_missing_socket_names_the_path_tried() {
    let dir = format!("/tmp/golden-native-nothing-{}", std::process::id());
    let env = env().with_var("INCUS_DIR", &dir);
    let c = connect(&env, None, TIMEOUT);
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    let Error::Unreachable(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains(&format!("no socket at {dir}/unix.socket")),
        "{m}"
    );
    assert!(m.contains("INCUS_DIR"), "{m}");
}

#[test]
fn a_daemon_that_accepts_and_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("unix.socket");
    let listener = UnixListener::bind(&sock).unwrap();
    let holder = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(4));
        drop(conn);
    });
    let env = env().with_var("INCUS_SOCKET", sock.to_str().unwrap());
    let c = connect(&env, None, Duration::from_secs(1));
    let started = Instant::now();
    let e = c.request("GET", "/1.0/instances", None, &[]).unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let Error::Unreachable(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains("did not answer GET /1.0/instances within 1 s"),
        "{m}"
    );
    holder.join().unwrap();
}

// ---- HTTPS -------------------------------------------------------------------

/// The daemon listening on 127.0.0.1:8443 in its namespace, a client configuration
/// written by the real `incus remote add lo`; all undone when dropped.
struct HttpsRemote {
    conf: tempfile::TempDir,
    client_name: String,
    previous_address: String,
}

impl HttpsRemote {
    fn add() -> Self {
        require_daemon();
        let previous_address = incus_ok(&["config", "get", "core.https_address"])
            .trim()
            .to_string();
        let client_name = format!("golden-native-{}", std::process::id());
        // From here on the guard undoes what is done, whatever fails.
        let r = HttpsRemote {
            conf: tempfile::tempdir().unwrap(),
            client_name,
            previous_address,
        };
        incus_ok(&["config", "set", "core.https_address", "127.0.0.1:8443"]);
        let token = incus_ok(&["config", "trust", "add", &r.client_name, "-q"])
            .trim()
            .to_string();
        let out = r
            .in_netns(r.conf.path())
            .args([
                "incus",
                "remote",
                "add",
                "lo",
                &token,
                "--accept-certificate",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remote add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        r
    }

    /// A command inside the daemon's namespace with only the client config `conf`.
    fn in_netns(&self, conf: &Path) -> Command {
        let netns = std::env::var("GOLDEN_INCUS_NETNS").unwrap_or_else(|_| "golden-incus".into());
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &netns,
            "env",
            "-u",
            "INCUS_DIR",
            "-u",
            "INCUS_SOCKET",
        ])
        .arg("-u")
        .arg("INCUS_REMOTE")
        .arg(format!("INCUS_CONF={}", conf.display()));
        c
    }

    /// A copy of the configuration, to spoil.
    fn copy_conf(&self) -> tempfile::TempDir {
        let copy = tempfile::tempdir().unwrap();
        let status = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", self.conf.path().display()))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(status.success());
        copy
    }
}

impl Drop for HttpsRemote {
    fn drop(&mut self) {
        let list = incus_ok(&["config", "trust", "list", "-f", "csv", "-c", "nf"]);
        for line in list.lines() {
            if let Some((name, fp)) = line.split_once(',') {
                if name == self.client_name {
                    let _ = incus(&["config", "trust", "remove", fp]);
                }
            }
        }
        if self.previous_address.is_empty() {
            let _ = incus(&["config", "unset", "core.https_address"]);
        } else {
            let _ = incus(&[
                "config",
                "set",
                "core.https_address",
                &self.previous_address,
            ]);
        }
    }
}

/// Runs `https_inside_the_namespace` of this very test binary inside the daemon's
/// namespace, where 127.0.0.1:8443 is the daemon, with the configurations to use.
#[test]
fn https_with_the_configuration_incus_remote_add_wrote() {
    let r = HttpsRemote::add();
    let config_yml = std::fs::read_to_string(r.conf.path().join("config.yml")).unwrap();
    assert!(
        r.conf.path().join("servercerts/lo.crt").exists(),
        "{config_yml}"
    );
    assert!(r.conf.path().join("client.crt").exists());

    // The pinned certificate replaced by another (the client's own): refused.
    let bad_pin = r.copy_conf();
    std::fs::copy(
        bad_pin.path().join("client.crt"),
        bad_pin.path().join("servercerts/lo.crt"),
    )
    .unwrap();
    // No pinned certificate: the system roots do not know the daemon's.
    let no_pin = r.copy_conf();
    std::fs::remove_file(no_pin.path().join("servercerts/lo.crt")).unwrap();

    let exe = std::env::current_exe().unwrap();
    let out = r
        .in_netns(r.conf.path())
        .arg(format!(
            "GOLDEN_NATIVE_BAD_PIN={}",
            bad_pin.path().display()
        ))
        .arg(format!("GOLDEN_NATIVE_NO_PIN={}", no_pin.path().display()))
        .arg(&exe)
        .args([
            "https_inside_the_namespace",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Shown with --nocapture: the messages a user would read.
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "config.yml:\n{config_yml}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run by https_with_the_configuration_incus_remote_add_wrote, inside the daemon's namespace"]
fn https_inside_the_namespace() {
    let env = Env::from_process();
    if env.var("GOLDEN_NATIVE_BAD_PIN").is_none() {
        eprintln!("not inside the daemon's namespace: https_with_the_configuration_incus_remote_add_wrote runs this");
        return;
    }
    let conf = PathBuf::from(env.var("INCUS_CONF").expect("INCUS_CONF"));

    // What the real client wrote reads as an HTTPS remote with its certificates.
    let c = config::Config::load(&env).unwrap();
    let lo = c.remote("lo").expect("remote lo");
    assert_eq!(lo.addrs, ["https://127.0.0.1:8443"]);
    assert_eq!(
        (lo.protocol.as_str(), lo.auth_type.as_str()),
        ("incus", "tls")
    );
    let Resolution::Native(e) = config::resolve(Some("lo"), &env).unwrap() else {
        panic!("lo is not native")
    };
    let tls = e.tls.as_ref().unwrap();
    assert_eq!(
        tls.server_cert.as_ref().unwrap().path,
        conf.join("servercerts/lo.crt")
    );
    assert_eq!(tls.client_cert.path, conf.join("client.crt"));

    // Over TLS: our certificate is the trusted one.
    let n = Native::connect(&e, TIMEOUT).unwrap();
    let r = n.request("GET", "/1.0", None, &[]).unwrap();
    assert_eq!(r.body["auth"], "trusted", "{}", r.body);
    n.request("GET", "/1.0/instances?all-projects=true", None, &[])
        .unwrap();
    let e404 = n
        .try_request("GET", "/1.0/instances/golden-native-nothing", None, &[])
        .unwrap()
        .unwrap_err();
    assert!(e404.is_not_found());
    // INCUS_REMOTE names the default remote.
    let by_env = connect(&env.clone().with_var("INCUS_REMOTE", "lo"), None, TIMEOUT);
    assert_eq!(by_env.address(), "https://127.0.0.1:8443");
    by_env.request("GET", "/1.0", None, &[]).unwrap();

    // A wrong pinned certificate: refused, saying so in one line.
    let bad = env
        .clone()
        .with_var("INCUS_CONF", env.var("GOLDEN_NATIVE_BAD_PIN").unwrap());
    let n = connect(&bad, Some("lo"), TIMEOUT);
    let e = n.request("GET", "/1.0", None, &[]).unwrap_err();
    let Error::Unreachable(m) = &e else {
        panic!("{e:?}")
    };
    eprintln!("wrong pin: {m}");
    assert!(
        m.starts_with("refusing remote lo at https://127.0.0.1:8443: its certificate is not the one pinned in"),
        "{m}"
    );
    assert!(m.contains("servercerts/lo.crt"), "{m}");
    assert!(!m.contains('\n'), "{m}");

    // Nothing pinned: the system roots do not vouch for the daemon's certificate.
    let none = env
        .clone()
        .with_var("INCUS_CONF", env.var("GOLDEN_NATIVE_NO_PIN").unwrap());
    let n = connect(&none, Some("lo"), TIMEOUT);
    let m = n.request("GET", "/1.0", None, &[]).unwrap_err().to_string();
    eprintln!("no pin: {m}");
    assert!(m.contains("its certificate is not trusted"), "{m}");
}
