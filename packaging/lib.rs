//! Nothing to compile: this crate only carries the Debian package's metadata
//! (`[package.metadata.deb]` in its Cargo.toml) for `make deb`. See
//! docs/packaging.md.
