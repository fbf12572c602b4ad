//! What resolution reads from the process, held in an [`Env`] that tests build by hand.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What resolution reads from the process: its environment and a few system paths,
/// all overridable so that tests never depend on the machine.
#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// The user's home from the password database (used when `HOME` is unset).
    pub passwd_home: Option<PathBuf>,
    /// The effective user id (names the `user-<euid>` project of `incus-user`).
    pub euid: u32,
    /// The global configuration directory when `INCUS_GLOBAL_CONF` is unset.
    pub global_dir: PathBuf,
    /// Where a packaged daemon puts its socket (`/run/incus`).
    pub run_dir: PathBuf,
    /// The daemon's default directory (`/var/lib/incus`).
    pub var_dir: PathBuf,
}

impl Env {
    /// No variables; the system paths of a packaged Incus.
    pub fn empty() -> Env {
        Env {
            vars: BTreeMap::new(),
            passwd_home: None,
            euid: 0,
            global_dir: PathBuf::from("/etc/incus"),
            run_dir: PathBuf::from("/run/incus"),
            var_dir: PathBuf::from("/var/lib/incus"),
        }
    }

    /// This process's environment and user.
    pub fn from_process() -> Env {
        let mut env = Env::empty();
        env.vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        // SAFETY: geteuid has no preconditions and cannot fail.
        env.euid = unsafe { libc::geteuid() };
        env.passwd_home = passwd_home(env.euid);
        env
    }

    /// The same environment with `name` set to `value`.
    pub fn with_var(mut self, name: &str, value: impl Into<String>) -> Env {
        self.vars.insert(name.to_string(), value.into());
        self
    }

    /// A variable, unset when empty (as Go's `os.Getenv(...) != ""` tests it).
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(super) fn first_var(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.var(n))
    }

    /// `$NAME` and `${NAME}` replaced by their values (unset: empty), as `os.ExpandEnv`.
    pub(super) fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(braced) = after.strip_prefix('{') {
                if let Some(end) = braced.find('}') {
                    out.push_str(self.vars.get(&braced[..end]).map_or("", |v| v));
                    rest = &braced[end + 1..];
                    continue;
                }
                // "${" without "}": Go drops the bad syntax.
                rest = "";
                continue;
            }
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push('$');
                rest = after;
            } else {
                out.push_str(self.vars.get(&after[..len]).map_or("", |v| v));
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        out
    }

    pub(super) fn global_conf_dir(&self) -> PathBuf {
        self.var("INCUS_GLOBAL_CONF")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.global_dir.clone())
    }
}

/// The home directory of `uid` in the password database.
fn passwd_home(uid: u32) -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to fill in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf outlives the use of pwd's fields.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points into buf, NUL-terminated by getpwuid_r.
    let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
    let dir = std::ffi::OsStr::from_bytes(dir.to_bytes());
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}
