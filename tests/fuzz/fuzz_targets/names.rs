//! Any text as a name: accepted only if Incus would accept it too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if golden::name::check_instance_name(&text).is_ok() {
        let b = text.as_bytes();
        assert!((1..=63).contains(&b.len()));
        assert!(b[0].is_ascii_alphabetic() && b[b.len() - 1] != b'-');
        assert!(b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-'));
    }
    if let Ok(r) = golden::name::InstanceRef::parse(&text) {
        assert!(!r.name.is_empty() && !r.remote.as_deref().unwrap_or("x").starts_with('-'));
    }
});
