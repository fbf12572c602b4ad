//! The committed man pages and completions are what the parser generates, the
//! pages render without warnings, and the completions load.

use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::docs;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check_same(dir: &str, files: Vec<(String, Vec<u8>)>) {
    for (name, want) in files {
        let path = root().join(dir).join(&name);
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == want,
            "{dir}/{name} differs from what the parser generates: run `make man completions` and commit"
        );
    }
}

#[test]
fn man_pages_match_the_parser() {
    check_same("man", docs::man_pages());
}

#[test]
fn completions_match_the_parser() {
    check_same("completions", docs::completions());
}

#[test]
fn man_pages_render_without_warnings_and_have_the_sections() {
    for (name, page) in docs::man_pages() {
        let text = String::from_utf8(page).unwrap();
        let wanted: &[&str] = if name.ends_with(".7") {
            &[
                "NAME",
                "DESCRIPTION",
                "WORKFLOWS",
                "TROUBLESHOOTING",
                "SEE ALSO",
            ]
        } else {
            &[
                "NAME",
                "SYNOPSIS",
                "OPTIONS",
                "EXAMPLES",
                "EXIT STATUS",
                "ENVIRONMENT",
                "FILES",
                "SEE ALSO",
            ]
        };
        for s in wanted {
            assert!(
                text.contains(&format!(".SH {s}")) || text.contains(&format!(".SH \"{s}\"")),
                "{name}: no {s}"
            );
        }
        let out = Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l"])
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .arg(root().join("man").join(&name))
            .output()
            .expect("man(1) is installed by tests/incus.sh install");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "{name}: {warnings}"
        );
        // What whatis/apropos index: the NAME line, read as mandb reads it.
        let out = Command::new("lexgrog")
            .arg(root().join("man").join(&name))
            .output()
            .expect("lexgrog comes with man-db");
        let said = String::from_utf8_lossy(&out.stdout);
        let topic = name.split('.').next().unwrap();
        assert!(
            out.status.success() && said.contains(&format!("\"{topic} - ")) && !said.contains('\\'),
            "{name}: lexgrog says {said}"
        );
    }
}

#[test]
fn completions_load_in_their_shells() {
    for (file, _) in docs::completions() {
        let path = root().join("completions").join(&file);
        let shell = if file.ends_with(".bash") {
            "bash"
        } else if file.ends_with(".fish") {
            "fish"
        } else {
            "zsh"
        };
        if shell != "bash" && Command::new(shell).arg("--version").output().is_err() {
            continue; // where available: bash always is
        }
        let out = Command::new(shell).arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{shell} -n {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
