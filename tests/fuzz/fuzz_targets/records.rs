//! Any bytes on stdin: the record reader ends in records or an error naming a
//! line, never a panic; and every record it gives comes from a real line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|b| *b == b'\n').count();
    let Ok(records) = golden::record::read_records(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    for r in records {
        match r {
            Ok(rec) => assert!(rec.line >= 1 && rec.line <= lines, "line {} of {lines}", rec.line),
            Err(e) => {
                assert_eq!(e.exit_code(), 2, "{e}");
                break;
            }
        }
    }
});
