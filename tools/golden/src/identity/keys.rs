//! SSH host keys: which kind a template's key is, and fresh ones made in this
//! process (RustCrypto's `ssh-key`: no `ssh-keygen`, nothing run in the guest).
//!
//! RSA generation is slow (a 3072-bit key takes about a second of one core,
//! with a wide spread): a [`KeyPool`] makes the keys the clones will need on
//! background threads from the start of the run, while the daemon copies, and
//! each reset takes the kinds it needs, waiting only for what is not ready yet.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};

use crate::{Error, Result};
use ssh_key::private::{EcdsaKeypair, Ed25519Keypair, KeypairData, RsaKeypair};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, EcdsaCurve, LineEnding, PrivateKey, PublicKey};

/// The kind of a host key, as much as a fresh one of the same must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    Ed25519,
    /// The curve's size: 256, 384 or 521.
    Ecdsa(u16),
    /// The modulus's size in bits.
    Rsa(u32),
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyKind::Ed25519 => write!(f, "ed25519"),
            KeyKind::Ecdsa(n) => write!(f, "ecdsa-{n}"),
            KeyKind::Rsa(n) => write!(f, "rsa-{n}"),
        }
    }
}

impl KeyKind {
    /// The kind of an OpenSSH public key line (`ssh-rsa AAAA... comment`).
    pub fn of_public(text: &str) -> Option<KeyKind> {
        let key = PublicKey::from_openssh(text.trim()).ok()?;
        Self::of_data(key.key_data())
    }

    /// The kind of an OpenSSH private key (unencrypted, as host keys are).
    pub fn of_private(text: &[u8]) -> Option<KeyKind> {
        let key = PrivateKey::from_openssh(text).ok()?;
        Self::of_data(key.public_key().key_data())
    }

    fn of_data(data: &ssh_key::public::KeyData) -> Option<KeyKind> {
        match data.algorithm() {
            Algorithm::Ed25519 => Some(KeyKind::Ed25519),
            Algorithm::Ecdsa { curve } => Some(KeyKind::Ecdsa(match curve {
                EcdsaCurve::NistP256 => 256,
                EcdsaCurve::NistP384 => 384,
                EcdsaCurve::NistP521 => 521,
            })),
            Algorithm::Rsa { .. } => {
                let n = data.rsa()?.n.as_positive_bytes()?;
                let lead = n.first().map_or(8, |b| b.leading_zeros());
                Some(KeyKind::Rsa((n.len() * 8) as u32 - lead))
            }
            _ => None,
        }
    }

    /// What OpenSSH makes for `ssh_host_NAME_key` when the key itself cannot be
    /// read (`ssh-keygen -A`'s sizes).
    pub fn of_file_name(name: &str) -> Option<KeyKind> {
        match name {
            "ssh_host_ed25519_key" => Some(KeyKind::Ed25519),
            "ssh_host_ecdsa_key" => Some(KeyKind::Ecdsa(256)),
            "ssh_host_rsa_key" => Some(KeyKind::Rsa(3072)),
            _ => None,
        }
    }
}

/// A fresh key of `kind` (no comment yet).
pub fn generate(kind: KeyKind) -> Result<PrivateKey> {
    let bad = |e: ssh_key::Error| Error::failed(format!("making a {kind} key: {e}"));
    let data = match kind {
        KeyKind::Ed25519 => KeypairData::Ed25519(Ed25519Keypair::random(&mut OsRng)),
        KeyKind::Ecdsa(bits) => {
            let curve = match bits {
                256 => EcdsaCurve::NistP256,
                384 => EcdsaCurve::NistP384,
                521 => EcdsaCurve::NistP521,
                _ => return Err(Error::failed(format!("no ECDSA curve of {bits} bits"))),
            };
            KeypairData::Ecdsa(EcdsaKeypair::random(&mut OsRng, curve).map_err(bad)?)
        }
        KeyKind::Rsa(bits) => {
            KeypairData::Rsa(RsaKeypair::random(&mut OsRng, bits as usize).map_err(bad)?)
        }
    };
    PrivateKey::new(data, "").map_err(bad)
}

/// The private and public files of `key` with `comment`: OpenSSH's formats.
pub fn files(mut key: PrivateKey, comment: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    key.set_comment(comment);
    let bad = |e: ssh_key::Error| Error::failed(format!("writing an SSH key: {e}"));
    let private = key.to_openssh(LineEnding::LF).map_err(bad)?;
    let mut public = key.public_key().to_openssh().map_err(bad)?;
    public.push('\n');
    Ok((private.as_bytes().to_vec(), public.into_bytes()))
}

/// Keys made ahead on background threads, taken by kind.
#[derive(Clone, Default)]
pub struct KeyPool {
    shared: Arc<(Mutex<Pool>, Condvar)>,
}

#[derive(Default)]
struct Pool {
    ready: BTreeMap<KeyKind, Vec<PrivateKey>>,
    /// Kinds queued or being made, and how many of each.
    queued: VecDeque<KeyKind>,
    making: BTreeMap<KeyKind, usize>,
    stopped: bool,
}

impl KeyPool {
    /// Starts making `wanted` (in this order, the first clones' first) on
    /// `threads` threads. Nothing wanted: nothing started.
    pub fn start(wanted: Vec<KeyKind>, threads: usize) -> KeyPool {
        let pool = KeyPool::default();
        if wanted.is_empty() {
            return pool;
        }
        {
            let mut p = pool.shared.0.lock().expect("key pool");
            for k in &wanted {
                *p.making.entry(*k).or_default() += 1;
            }
            p.queued = wanted.into();
        }
        for _ in 0..threads.max(1) {
            let pool = pool.clone();
            std::thread::spawn(move || pool.work());
        }
        pool
    }

    fn work(&self) {
        let (lock, cv) = &*self.shared;
        loop {
            let kind = {
                let mut p = lock.lock().expect("key pool");
                match p.queued.pop_front() {
                    Some(k) if !p.stopped => k,
                    _ => return,
                }
            };
            let made = generate(kind).ok();
            let mut p = lock.lock().expect("key pool");
            if let Some(n) = p.making.get_mut(&kind) {
                *n -= 1;
            }
            if let Some(key) = made {
                p.ready.entry(kind).or_default().push(key);
            }
            cv.notify_all();
        }
    }

    /// A fresh key of `kind`: one made ahead, waiting for one under way, or
    /// made now if none was planned.
    pub fn take(&self, kind: KeyKind) -> Result<PrivateKey> {
        let (lock, cv) = &*self.shared;
        let mut p = lock.lock().expect("key pool");
        loop {
            if let Some(key) = p.ready.get_mut(&kind).and_then(Vec::pop) {
                return Ok(key);
            }
            if p.making.get(&kind).copied().unwrap_or(0) == 0 {
                break;
            }
            p = cv.wait(p).expect("key pool");
        }
        drop(p);
        generate(kind)
    }

    /// No more keys are needed: the threads end after the key under way.
    pub fn stop(&self) {
        let mut p = self.shared.0.lock().expect("key pool");
        p.stopped = true;
        p.queued.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_of_the_kind_asked_and_read_back() {
        for kind in [KeyKind::Ed25519, KeyKind::Ecdsa(256), KeyKind::Ecdsa(384)] {
            let (private, public) = files(generate(kind).unwrap(), "root@clone").unwrap();
            let public = String::from_utf8(public).unwrap();
            assert!(public.ends_with(" root@clone\n"), "{public}");
            assert_eq!(KeyKind::of_public(&public), Some(kind));
            assert_eq!(KeyKind::of_private(&private), Some(kind));
            assert!(String::from_utf8(private)
                .unwrap()
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        }
    }

    #[test]
    fn rsa_keys_keep_their_size() {
        let (_, public) = files(generate(KeyKind::Rsa(2048)).unwrap(), "c").unwrap();
        assert_eq!(
            KeyKind::of_public(std::str::from_utf8(&public).unwrap()),
            Some(KeyKind::Rsa(2048))
        );
    }

    #[test]
    fn kinds_by_file_name_and_unreadable_keys() {
        assert_eq!(
            KeyKind::of_file_name("ssh_host_rsa_key"),
            Some(KeyKind::Rsa(3072))
        );
        assert_eq!(KeyKind::of_file_name("ssh_host_dsa_key"), None);
        assert_eq!(KeyKind::of_public("not a key"), None);
        assert_eq!(
            KeyKind::of_private(b"-----BEGIN RSA PRIVATE KEY-----"),
            None
        );
    }

    #[test]
    fn the_pool_gives_what_it_made_and_makes_what_it_did_not_plan() {
        let pool = KeyPool::start(vec![KeyKind::Ed25519, KeyKind::Ed25519], 2);
        let a = pool.take(KeyKind::Ed25519).unwrap();
        let b = pool.take(KeyKind::Ed25519).unwrap();
        assert_ne!(a.public_key(), b.public_key());
        // Not planned: made on the spot.
        let c = pool.take(KeyKind::Ecdsa(256)).unwrap();
        assert_eq!(c.algorithm().as_str(), "ecdsa-sha2-nistp256");
        pool.stop();
    }
}
