//! `REMOTE:NAME` works as with incus: a remote over HTTPS on 127.0.0.1 that
//! points at the private daemon, with a throwaway client configuration, from
//! inside the daemon's network namespace (its loopback is its own).

use golden_tests::*;
use std::process::Command;

/// The tests here share the daemon's HTTPS address: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A server configuration key set for a test, put back as it was when dropped,
/// even by a failing test.
struct ServerConfig {
    key: &'static str,
    previous: String,
}

impl ServerConfig {
    fn set(key: &'static str, value: &str) -> Self {
        let previous = incus_ok(&["config", "get", key]).trim().to_string();
        let guard = ServerConfig { key, previous };
        incus_ok(&["config", "set", key, value]);
        guard
    }
}

impl Drop for ServerConfig {
    fn drop(&mut self) {
        let out = if self.previous.is_empty() {
            incus(&["config", "unset", self.key])
        } else {
            incus(&["config", "set", self.key, &self.previous])
        };
        if !out.status.success() && !std::thread::panicking() {
            panic!(
                "restoring {}: {}",
                self.key,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

struct Remote {
    conf: tempfile::TempDir,
    client_name: String,
    // Dropped after the trust entry is removed (fields drop after Drop::drop).
    _https: ServerConfig,
}

impl Remote {
    fn add() -> Self {
        Self::add_restricted(None)
    }

    /// A remote whose certificate may reach `project` only, when given.
    fn add_restricted(project: Option<&str>) -> Self {
        require_daemon();
        let https = ServerConfig::set("core.https_address", "127.0.0.1:8443");
        let client_name = format!(
            "golden-test-{}-{}",
            std::process::id(),
            project.unwrap_or("all")
        );
        let mut args = vec!["config", "trust", "add", &client_name, "-q"];
        if let Some(p) = project {
            args.extend(["--restricted", "--projects", p]);
        }
        let token = incus_ok(&args).trim().to_string();
        let r = Remote {
            conf: tempfile::tempdir().unwrap(),
            client_name,
            _https: https,
        };
        let out = r
            .cmd("incus")
            .args(["remote", "add", "lo", &token, "--accept-certificate"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remote add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        r
    }

    /// A command run in the daemon's namespace with only this client config:
    /// no INCUS_DIR, so every request goes over HTTPS.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let netns = std::env::var("GOLDEN_INCUS_NETNS").unwrap_or_else(|_| "golden-incus".into());
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &netns, "env", "-u", "INCUS_DIR"])
            .arg(format!("INCUS_CONF={}", self.conf.path().display()))
            .arg(program.as_ref());
        c
    }
}

impl Remote {
    /// A golden tool, with nothing but the tools on its PATH: it reads this
    /// client configuration and speaks HTTPS itself.
    fn tool(&self, name: &str) -> Command {
        let mut c = self.cmd("env");
        let dir = bin(name).parent().unwrap().display().to_string();
        c.arg(format!("PATH={dir}")).arg(bin(name));
        c
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let list = incus_ok(&["config", "trust", "list", "-f", "csv", "-c", "nf"]);
        for line in list.lines() {
            if let Some((name, fp)) = line.split_once(',') {
                if name == self.client_name {
                    let _ = incus(&["config", "trust", "remove", fp]);
                }
            }
        }
    }
}

#[test]
fn every_tool_works_on_a_remote_over_https() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let p = Project::new("rm-https");
    p.instance("g", None);
    let https_before = incus_ok(&["config", "get", "core.https_address"]);
    let remote = Remote::add();

    let r = run(remote
        .tool("golden-create")
        .args(["-f", "json", "lo:g", "--project", &p.name]));
    r.assert_ok();
    assert_eq!(p.snapshots_but_generations("g"), ["pristine"]);

    let r = run(remote.tool("golden-ls").args(["-f", "json", "lo:"]));
    r.assert_ok();
    assert!(
        json_lines(&r.stdout)
            .iter()
            .any(|v| v["project"] == p.name.as_str() && v["instance"] == "g"),
        "{}",
        r.stdout
    );
    let r =
        run(remote
            .tool("golden-ls")
            .args(["-H", "-o", "instance", "lo:g", "--project", &p.name]));
    assert_eq!((r.code, r.stdout.as_str()), (0, "g\n"), "{}", r.stderr);

    let r =
        run(remote
            .tool("golden-derive")
            .args(["-q", "lo:g", "c1", "lo:c2", "--project", &p.name]));
    r.assert_ok();
    assert_eq!(p.instances(), ["c1", "c2", "g"]);

    let alias = format!("{}-remote", p.name);
    let r = run(remote.tool("golden-publish").args([
        "-f",
        "json",
        "lo:g",
        "--alias",
        &alias,
        "--project",
        &p.name,
    ]));
    r.assert_ok();
    incus_ok(&["image", "show", &alias]);

    // A refresh (an image made and rebuilt from, files carried over HTTPS),
    // and back.
    let r = run(remote
        .tool("golden-create")
        .args(["-q", "lo:g", "--project", &p.name]));
    r.assert_ok();
    let r = run(remote
        .tool("golden-refresh")
        .args(["-f", "json", "lo:c1", "--project", &p.name]));
    r.assert_ok();
    assert_eq!(
        json_lines(&r.stdout)[0]["status"],
        "refreshed",
        "{}",
        r.stdout
    );
    let r = run(remote.tool("golden-refresh").args([
        "-f",
        "json",
        "--restore",
        "lo:c1",
        "--project",
        &p.name,
    ]));
    r.assert_ok();
    assert_eq!(
        json_lines(&r.stdout)[0]["status"],
        "restored",
        "{}",
        r.stdout
    );
    let r = run(remote
        .tool("golden-identity")
        .args(["-f", "json", "lo:c2", "--project", &p.name]));
    r.assert_ok();
    assert_eq!(json_lines(&r.stdout)[0]["instance"], "c2", "{}", r.stdout);

    // An unknown remote is bad input.
    let r = run(remote.tool("golden-ls").arg("nowhere:"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("unknown remote nowhere"), "{}", r.stderr);

    // A server certificate that is not the one pinned is refused, in one line.
    let pinned = remote.conf.path().join("servercerts").join("lo.crt");
    std::fs::copy(remote.conf.path().join("client.crt"), &pinned).unwrap();
    let r = run(remote.tool("golden-ls").arg("lo:"));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not the one pinned"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    // The daemon's HTTPS address is put back (a failing test puts it back too).
    drop(remote);
    assert_eq!(
        incus_ok(&["config", "get", "core.https_address"]),
        https_before
    );
}

/// A certificate restricted to one project: every tool works with `-p` from
/// what such a client may read (no list of all pools, no project config).
#[test]
fn a_project_restricted_certificate_is_enough() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let p = Project::new("rm-restricted");
    p.golden("gold", None);
    let remote = Remote::add_restricted(Some(&p.name));
    let r = run(remote
        .tool("golden-ls")
        .args(["-f", "json", "-p", &p.name, "lo:"]));
    r.assert_ok();
    let rows = json_lines(&r.stdout);
    assert_eq!(rows.len(), 1, "{}", r.stdout);
    assert_eq!(
        (rows[0]["instance"].as_str(), rows[0]["cow"].as_bool()),
        (Some("gold"), Some(true))
    );
    let r = run(remote
        .tool("golden-derive")
        .args(["-q", "-p", &p.name, "lo:gold", "c1"]));
    r.assert_ok();
    let r = run(remote.tool("golden-create").args(["-p", &p.name, "lo:c1"]));
    r.assert_ok();
    assert!(
        r.stderr.contains("not locked across machines"),
        "{}",
        r.stderr
    );
    assert_eq!(p.instances(), ["c1", "gold"]);
    assert_eq!(p.snapshots_but_generations("c1"), ["pristine"]);
}
