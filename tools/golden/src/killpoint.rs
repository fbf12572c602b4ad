//! Named points where a debug build kills itself when a test asks
//! (`GOLDEN_KILL_AT=NAME`): each kill test then reaches exactly the state it
//! names, on every run and every machine, where a kill after a delay lands
//! somewhere different each time. Release builds hold none of it.
//!
//! The names, by tool: `create:stopped`, `create:templated`, `swap:next-made`,
//! `swap:old-set-aside`, `swap:renamed`;
//! `refresh:kept`, `refresh:marked`, `refresh:rebuilt`, `refresh:recorded`.

/// Kills the process with SIGKILL, as `kill -9` would (no destructor, no
/// flush, no cleanup of ours), if `GOLDEN_KILL_AT` names this point.
#[inline]
pub fn reach(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("GOLDEN_KILL_AT").is_some_and(|at| at == name) {
        // SAFETY: kill(2) on our own pid; no memory is touched.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    let _ = name;
}
