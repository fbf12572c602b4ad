//! One exchange on a unix socket going wrong: no socket, nobody listening, a daemon
//! that never answers or hangs up, a request that cannot be sent.

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use super::fake::{read_request, unix_endpoint, Fake, T};
use crate::error::Error;
use crate::incus::native::Native;

#[test]
fn a_missing_socket_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing/unix.socket");
    let c = Native::connect(&unix_endpoint(&path), T).unwrap();
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    let Error::Unreachable(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains(&format!("no socket at {}", path.display())),
        "{m}"
    );
    assert!(m.contains("(from the test)"), "{m}");
}

#[test]
fn a_socket_nobody_listens_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unix.socket");
    drop(UnixListener::bind(&path).unwrap());
    let c = Native::connect(&unix_endpoint(&path), T).unwrap();
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    assert!(
        matches!(&e, Error::Unreachable(m) if m.contains("nothing listens on")),
        "{e:?}"
    );
}

#[test]
fn a_daemon_that_accepts_but_never_answers_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unix.socket");
    let listener = UnixListener::bind(&path).unwrap();
    let holder = std::thread::spawn(move || {
        // Accept and hold the connection, reading nothing back.
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let c = Native::connect(&unix_endpoint(&path), Duration::from_millis(400)).unwrap();
    let started = Instant::now();
    let e = c.request("GET", "/1.0/instances", None, &[]).unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(2),
        "{took:?}"
    );
    let Error::Unreachable(m) = &e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains("did not answer GET /1.0/instances within 0.4 s"),
        "{m}"
    );
    assert!(m.contains(&path.display().to_string()), "{m}");
    holder.join().unwrap();
}

#[test]
fn a_daemon_that_hangs_up_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unix.socket");
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        read_request(&mut s).unwrap();
        drop(s);
    });
    let c = Native::connect(&unix_endpoint(&path), T).unwrap();
    let e = c.request("GET", "/1.0", None, &[]).unwrap_err();
    assert!(
        matches!(&e, Error::Unreachable(m) if m.contains("broke off GET /1.0")),
        "{e:?}"
    );
    server.join().unwrap();
}

#[test]
fn bad_requests_are_refused_before_sending() {
    let fake = Fake::new(vec![]);
    let c = fake.client();
    assert!(c.request("GET", "1.0", None, &[]).is_err());
    assert!(c.request("GE T", "/1.0", None, &[]).is_err());
    assert!(c
        .request("GET", "/1.0", None, &[("X-Bad", "a\nb")])
        .is_err());
    assert!(c.request("GET", "/1.0 x", None, &[]).is_err());
}
