//! Writes man/ and completions/ from the tools' clap definitions.

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (dir, files) in [
        ("man", golden_tests::docs::man_pages()),
        ("completions", golden_tests::docs::completions()),
    ] {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    Ok(())
}
