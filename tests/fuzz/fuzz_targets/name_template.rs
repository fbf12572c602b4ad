//! A name template and a record: expansion gives text or a usage error, and a
//! template without braces comes back as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (template, record) = text.split_once('\n').unwrap_or((&text, ""));
    let mut rec = golden::record::Record::named(1, "pro-dev");
    for (i, field) in record.split('\t').enumerate() {
        rec.fields.insert(format!("f{i}"), field.to_string());
    }
    match golden::record::expand_template(template, &rec) {
        Ok(out) => {
            if !template.contains(['{', '}']) {
                assert_eq!(out, template);
            }
        }
        Err(e) => assert_eq!(e.exit_code(), 2),
    }
});
