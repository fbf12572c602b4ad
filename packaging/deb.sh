#!/usr/bin/env bash
# make deb: the Debian package of the six tools, made by cargo-deb from the
# metadata in packaging/Cargo.toml and the release binaries `make build` made.
#
#   packaging/deb.sh install   install what is missing: cargo-deb (pinned), dpkg-dev
#   packaging/deb.sh           install what is missing, then write
#                              target/debian/golden_VERSION-1_ARCH.deb (its path on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO=${CARGO:-cargo}
# The cargo-deb whose package docs/packaging.md describes (lintian's result too).
CARGO_DEB_VERSION=3.8.0

say() { printf 'deb.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

install() {
    # dpkg-shlibdeps computes Depends ($auto); strip and objcopy come with it.
    if ! command -v dpkg-shlibdeps >/dev/null; then
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
            die "missing: dpkg-dev — install it (as root, with your package manager) and retry"
        fi
        say "installing: dpkg-dev"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq dpkg-dev >/dev/null
    fi
    # cargo finds its subcommands in $CARGO_HOME/bin even when that is not on PATH.
    if ! "$CARGO" deb --version >/dev/null 2>&1; then
        say "installing: cargo-deb $CARGO_DEB_VERSION (cargo install, a few minutes)"
        "$CARGO" install --locked --version "$CARGO_DEB_VERSION" cargo-deb
    fi
}

case "${1:-}" in
    install) install ;;
    "")
        install
        # --no-build: the binaries are the ones `make build` just made (the
        # Makefile's deb target depends on it), not a second build of cargo-deb's.
        "$CARGO" deb --package golden-deb --no-build
        ;;
    *) echo "usage: $0 [install]" >&2; exit 2 ;;
esac
