//! Files inside an instance (`/1.0/instances/NAME/files`): read with their
//! owner and mode, written with them, removed.
//!
//! On a container this works whether it runs or not (the daemon reaches its
//! root filesystem itself); on a virtual machine only while its agent runs.
//! What Incus 6.0 does that callers must know:
//! - writing a file that exists keeps its owner and mode (the `X-Incus-uid`,
//!   `-gid`, `-mode` headers apply to a new file only): to change them, remove
//!   the file first ([`Incus::replace_file`] does);
//! - a symlink is read as itself (its target), never followed;
//! - a directory is read as the names in it.
//!
//! Only the native client carries these requests (raw bodies and headers):
//! a remote reached through `incus query` cannot ([`Incus::speaks_files`]).

use super::client::enc;
use super::kind::Kind;
use super::native::RawResponse;
use super::Incus;
use crate::error::{Error, Result};

/// What a path holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
}

/// One path of an instance, as the daemon sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFile {
    pub kind: FileKind,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (`0o644`...).
    pub mode: u32,
    /// A file's bytes, or a symlink's target.
    pub content: Vec<u8>,
    /// A directory's entries.
    pub entries: Vec<String>,
}

impl InstanceFile {
    pub fn is_file(&self) -> bool {
        self.kind == FileKind::File
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}

/// Owner and mode of a file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perms {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// The headers of a new path of `kind` (`file`, `directory`) with `perms`.
fn new_path_headers(perms: Perms, kind: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Incus-uid", perms.uid.to_string()),
        ("X-Incus-gid", perms.gid.to_string()),
        ("X-Incus-mode", format!("{:04o}", perms.mode)),
        ("X-Incus-type", kind.to_string()),
    ]
}

fn borrowed<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn files_path(project: &str, instance: &str, path: &str) -> String {
    format!(
        "/1.0/instances/{}/files?path={}&project={}",
        enc(instance),
        enc(path),
        enc(project)
    )
}

impl Incus {
    /// Whether this remote's requests can carry files (the native client).
    pub fn speaks_files(&self) -> Result<bool> {
        Ok(self.native()?.is_some())
    }

    /// `path` in `instance`: `None` if it does not exist.
    pub fn read_file(
        &self,
        project: &str,
        instance: &str,
        path: &str,
    ) -> Result<Option<InstanceFile>> {
        match self.bytes("GET", &files_path(project, instance, path), None, &[]) {
            Ok(raw) => decode(raw).map(Some),
            // Not an instance without a storage volume, which is a 404 too.
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
        .map_err(|e| e.context(format!("reading {path} in {instance}")))
    }

    /// Writes `content` to `path` (a new file gets `perms`; an existing one
    /// keeps its own owner and mode).
    pub fn write_file(
        &self,
        project: &str,
        instance: &str,
        path: &str,
        content: &[u8],
        perms: Perms,
    ) -> Result<()> {
        let mut headers = new_path_headers(perms, "file");
        headers.push(("X-Incus-write", "overwrite".into()));
        self.bytes(
            "POST",
            &files_path(project, instance, path),
            Some(content),
            &borrowed(&headers),
        )
        .map(drop)
        .map_err(|e| e.context(format!("writing {path} in {instance}")))
    }

    /// Writes `content` to `path` with exactly `perms`: a file that exists with
    /// another owner or mode (`old`) is removed first.
    pub fn replace_file(
        &self,
        project: &str,
        instance: &str,
        path: &str,
        content: &[u8],
        perms: Perms,
        old: Option<&InstanceFile>,
    ) -> Result<()> {
        if let Some(old) = old {
            if (old.uid, old.gid, old.mode) != (perms.uid, perms.gid, perms.mode) || !old.is_file()
            {
                self.delete_file(project, instance, path)?;
            }
        }
        self.write_file(project, instance, path, content, perms)
    }

    /// Removes `path`; `false` if it was not there.
    pub fn delete_file(&self, project: &str, instance: &str, path: &str) -> Result<bool> {
        match self.bytes("DELETE", &files_path(project, instance, path), None, &[]) {
            Ok(_) => Ok(true),
            Err(e) if Kind::of(&e) == Kind::NotFound => Ok(false),
            Err(e) => Err(e.context(format!("removing {path} in {instance}"))),
        }
    }

    /// Makes the directory `path` (its parent must exist).
    pub fn make_dir(&self, project: &str, instance: &str, path: &str, perms: Perms) -> Result<()> {
        let headers = new_path_headers(perms, "directory");
        let url = files_path(project, instance, path);
        self.bytes("POST", &url, None, &borrowed(&headers))
            .map(drop)
            .map_err(|e| e.context(format!("making directory {path} in {instance}")))
    }

    /// Makes `path` a symlink to `target`.
    pub fn make_symlink(
        &self,
        project: &str,
        instance: &str,
        path: &str,
        target: &str,
    ) -> Result<()> {
        let headers = [("X-Incus-type", "symlink")];
        self.bytes(
            "POST",
            &files_path(project, instance, path),
            Some(target.as_bytes()),
            &headers,
        )
        .map(drop)
        .map_err(|e| e.context(format!("making symlink {path} in {instance}")))
    }

    /// One request with a raw body (files, template files) through the
    /// native client.
    pub(super) fn bytes(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse> {
        let Some(native) = self.native()? else {
            return Err(Error::Failed(format!(
                "Incus{} is reached through `incus query`, which cannot carry files",
                self.remote_label()
            )));
        };
        // The daemon (6.0) serves files through a helper process (forkfile)
        // it starts on demand; the helper exits after 10-15 s without a
        // request, or when the instance is stopped or snapshotted. A request
        // that meets one exiting ([`Kind::FileHelperGone`]) did nothing, and
        // leaves a new helper behind that nobody can reach: the exiting one's
        // clean-up removed the socket the new one listens on
        // (`FileSFTPConn`, lxc driver, Incus 6.0.4). Asked again at once, the
        // daemon waits for that one to exit and fails the same way (seen: a
        // derive's three immediate tries all failed, a fresh-clone run of
        // make test); asked once it has exited, it starts a helper that
        // works. So the next try waits out the helper's idle time.
        const HELPER_IDLE_EXIT: std::time::Duration = std::time::Duration::from_secs(16);
        let mut tries = 0;
        loop {
            let answer = self.again_while_not_ready(method, path, || {
                let started = std::time::Instant::now();
                let answer = native.try_request_bytes(method, path, body, headers);
                self.traced(method, path, started);
                Ok(answer??)
            });
            match &answer {
                Err(e) if Kind::of(e) == Kind::FileHelperGone && tries < 2 => {
                    tries += 1;
                    std::thread::sleep(HELPER_IDLE_EXIT);
                }
                _ => return answer,
            }
        }
    }
}

/// A files answer read: kind, owner, mode and content.
pub(super) fn decode(raw: RawResponse) -> Result<InstanceFile> {
    let num = |name: &str, radix: u32| -> Result<u32> {
        let v = raw.header(name).unwrap_or("0").trim();
        u32::from_str_radix(v, radix)
            .map_err(|_| Error::Failed(format!("unexpected {name} header from Incus: {v:?}")))
    };
    let kind = match raw.header("X-Incus-type").unwrap_or("file") {
        "file" => FileKind::File,
        "directory" => FileKind::Directory,
        "symlink" => FileKind::Symlink,
        other => return Err(Error::Failed(format!("unexpected file type {other:?}"))),
    };
    let entries = if kind == FileKind::Directory {
        let v: serde_json::Value = serde_json::from_slice(&raw.body)
            .map_err(|e| Error::Failed(format!("unreadable directory listing: {e}")))?;
        v.get("metadata")
            .and_then(|m| m.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(InstanceFile {
        uid: num("X-Incus-uid", 10)?,
        gid: num("X-Incus-gid", 10)?,
        mode: num("X-Incus-mode", 8)?,
        content: if kind == FileKind::Directory {
            Vec::new()
        } else {
            raw.body
        },
        entries,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_helper_gone_is_told_from_a_missing_file() {
        let refused = |status, words: &str| -> Error {
            crate::incus::kind::refusal(crate::error::Origin::Request(status), words).into()
        };
        let gone = "Failed getting instance SFTP connection: dial unix \
            /proc/self/fd/49/forkfile.sock: connect: no such file or directory";
        assert_eq!(Kind::of(&refused(500, gone)), Kind::FileHelperGone);
        assert_eq!(Kind::of(&refused(404, "not found")), Kind::NotFound);
        assert_eq!(
            Kind::of(&refused(500, "open /etc/x: no such file or directory")),
            Kind::Other
        );
    }

    fn raw(headers: &[(&str, &str)], body: &str) -> RawResponse {
        RawResponse {
            status: 200,
            etag: None,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn files_symlinks_and_directories_are_read_from_the_daemon_answer() {
        // Incus 6.0.4's answers, as curl showed them.
        let f = decode(raw(
            &[
                ("X-Incus-Uid", "0"),
                ("X-Incus-Gid", "0"),
                ("X-Incus-Mode", "0600"),
                ("X-Incus-Type", "file"),
            ],
            "secret",
        ))
        .unwrap();
        assert_eq!(
            (f.kind.clone(), f.mode, f.text().as_str()),
            (FileKind::File, 0o600, "secret")
        );
        let l = decode(raw(
            &[("X-Incus-Mode", "0777"), ("X-Incus-Type", "symlink")],
            "/etc/machine-id",
        ))
        .unwrap();
        assert_eq!(l.kind, FileKind::Symlink);
        assert_eq!(l.text(), "/etc/machine-id");
        let d = decode(raw(
            &[
                ("X-Incus-Uid", "0"),
                ("X-Incus-Mode", "0755"),
                ("X-Incus-Type", "directory"),
            ],
            r#"{"type":"sync","status":"Success","status_code":200,"metadata":["hostname","ssh"]}"#,
        ))
        .unwrap();
        assert_eq!(d.entries, ["hostname", "ssh"]);
        assert!(d.content.is_empty());
        assert!(decode(raw(&[("X-Incus-Type", "socket")], "")).is_err());
        assert!(decode(raw(&[("X-Incus-Mode", "rw")], "")).is_err());
    }

    #[test]
    fn paths_are_encoded_with_their_project() {
        assert_eq!(
            files_path("lab", "a b", "/etc/ssh/ssh_host_rsa_key"),
            "/1.0/instances/a%20b/files?path=%2Fetc%2Fssh%2Fssh_host_rsa_key&project=lab"
        );
    }
}
