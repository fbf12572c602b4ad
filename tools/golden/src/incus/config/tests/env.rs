//! The environment of this process.

use crate::incus::config::Env;

#[test]
fn from_process_reads_the_environment() {
    let env = Env::from_process();
    // SAFETY: no preconditions.
    assert_eq!(env.euid, unsafe { libc::geteuid() });
    if let Ok(path) = std::env::var("PATH") {
        assert_eq!(env.var("PATH"), Some(path.as_str()));
    }
    assert!(env.passwd_home.is_some(), "this user has a home in passwd");
}
