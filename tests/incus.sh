#!/usr/bin/env bash
# A private, real Incus daemon for golden's tests and demo.
#
#   tests/incus.sh install   install incus, btrfs-progs, busybox-static, mmdebstrap (and the
#                            shells and tools the tests use) if missing
#   tests/incus.sh start     start (or reuse) the private daemon and its fixtures
#                            (images busybox, debian12 and debian13: see debian_image)
#   tests/incus.sh image A   import the on-demand image A into the running daemon unless
#                            it holds it: debian12-cloud (Debian 12 with cloud-init)
#   tests/incus.sh stop      stop it and remove every trace (process, mounts, loop, netns, dir)
#   tests/incus.sh status    exit 0 if it answers
#   tests/incus.sh env       print INCUS_DIR and INCUS_CONF to export for it
#
# The daemon lives under its own INCUS_DIR (default /tmp/golden-incus) and in its
# own network namespace, so it never touches a system Incus nor the host network.
set -euo pipefail

DIR=${GOLDEN_INCUS_DIR:-/tmp/golden-incus}
NETNS=${GOLDEN_INCUS_NETNS:-golden-incus}
STATE=$DIR.state          # pid file and log, beside (not inside) the daemon's own dir
BTRFS_POOL=gbtrfs
DIR_POOL=gdir
BRIDGE=goldenbr0
IMAGE=busybox
# Where the Debian image is built once and kept, outside the repo (a clean
# checkout or `incus.sh stop` keeps it).
CACHE=${GOLDEN_TEST_CACHE:-/var/cache/golden-tests}

say() { printf 'incus.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The client gets its own config dir too, so a user's default remote is never used.
CONF=$STATE/client
client() { INCUS_DIR=$DIR INCUS_CONF=$CONF incus "$@"; }

# Two set-ups at once on one machine (two checkouts, each with its own daemon)
# install one after the other: apt-get update and install do not wait for each
# other. tests/run.sh takes the same lock for cargo-deb.
install() {
    exec 4>/run/lock/golden-tests-install.lock
    flock -x 4
    install_missing
    flock -u 4
    exec 4>&-
}

install_missing() {
    local missing=()
    command -v incus >/dev/null && [ -x "$INCUSD" ] || missing+=(incus)
    command -v mkfs.btrfs >/dev/null || missing+=(btrfs-progs)
    # The image needs a static busybox (ldd fails on a static binary).
    [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v jq >/dev/null || missing+=(jq)
    # For the tests and the bench: man pages render, a raw socket request.
    command -v man >/dev/null || missing+=(man-db)
    command -v curl >/dev/null || missing+=(curl)
    # The real Debian golden of the identity tests, and ssh-keygen to check its keys.
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    command -v ssh-keygen >/dev/null || missing+=(openssh-client)
    # The terminal tests draw the tools' progress in a real terminal.
    command -v tmux >/dev/null || missing+=(tmux)
    # Tab completion is tested in the real shells (tests/completion.rs).
    [ -r /usr/share/bash-completion/bash_completion ] || missing+=(bash-completion)
    command -v zsh >/dev/null || missing+=(zsh)
    command -v fish >/dev/null || missing+=(fish)
    # The package test: lintian judges it (dpkg-dev comes with packaging/deb.sh).
    command -v lintian >/dev/null || missing+=(lintian)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        die "missing: ${missing[*]} — install them (as root, with your package manager) and retry"
    fi
    say "installing: ${missing[*]}"
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    local apt_opts=()
    if [ "$codename" = bookworm ] && [[ " ${missing[*]} " == *" incus "* ]]; then
        # Debian 12 has incus only in backports: add a stanza copied from the
        # machine's own debian.sources (same mirror and key), never a fixed host.
        local src=/etc/apt/sources.list.d/debian.sources
        local dst=/etc/apt/sources.list.d/golden-bookworm-backports.sources
        if [ ! -f "$dst" ]; then
            [ -f "$src" ] || die "no $src to derive bookworm-backports from; enable bookworm-backports and retry"
            awk -v RS= '/Suites:[^\n]*bookworm( |\n|$)/ && !/security/ {print; exit}' "$src" \
                | awk '/^URIs:|^Signed-By:/ {print} END {print "Types: deb\nSuites: bookworm-backports\nComponents: main"}' >"$dst"
        fi
        apt_opts=(-t bookworm-backports)
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The backports pin applies to incus only; the rest come from the main suite.
    local p
    for p in "${missing[@]}"; do
        if [ "$p" = incus ]; then
            apt-get install -y -qq "${apt_opts[@]}" incus >/dev/null
        else
            apt-get install -y -qq "$p" >/dev/null
        fi
    done
    [ -x "$INCUSD" ] || die "incus installed but $INCUSD is missing"
}

. "$(dirname "$0")/busybox-image.sh"
. "$(dirname "$0")/traces.sh"
. "$(dirname "$0")/incusd.sh"
. "$(dirname "$0")/debian-image.sh"

answers() { [ -S "$DIR/unix.socket" ] && timeout 5 env INCUS_DIR="$DIR" INCUS_CONF="$CONF" incus query /1.0 >/dev/null 2>&1; }

fixtures() {
    client storage show "$BTRFS_POOL" >/dev/null 2>&1 || client storage create "$BTRFS_POOL" btrfs size=4GiB >/dev/null
    client storage show "$DIR_POOL" >/dev/null 2>&1 || client storage create "$DIR_POOL" dir >/dev/null
    client profile device show default | grep -q '^root:' \
        || client profile device add default root disk path=/ pool="$BTRFS_POOL" >/dev/null
    # A managed bridge, for DHCP and the static-address tests; it exists only
    # in the namespace. No DNS: Incus refuses to start two instances of one
    # name on a bridge that serves names, and the tests run side by side in
    # projects of their own, with the same names ("tpl", "c1").
    client network show "$BRIDGE" >/dev/null 2>&1 \
        || client network create "$BRIDGE" ipv4.address=10.219.7.1/24 ipv4.nat=false ipv6.address=none dns.mode=none >/dev/null \
        || say "warning: could not create the managed bridge $BRIDGE"
    # systemd-networkd waits for udev (which minbase lacks) when /sys is
    # writable: with it read-only, eth0 is configured and DHCP answers.
    [ "$(client profile get default raw.lxc)" = "lxc.mount.auto = sys:ro" ] \
        || client profile set default raw.lxc="lxc.mount.auto = sys:ro"
    client image alias list --format csv | grep -q "^$IMAGE," || busybox_image
    debian_image bookworm debian12
    debian_image trixie debian13
}

start() {
    install
    if answers; then
        fixtures
        say "reusing the private Incus: export INCUS_DIR=$DIR INCUS_CONF=$CONF"
        return 0
    fi
    # A daemon that is there but does not answer is ended; its state is kept
    # (a daemon that died is restarted on its own database and pools).
    if [ -f "$STATE/incusd.pid" ]; then
        kill -9 "$(cat "$STATE/incusd.pid")" 2>/dev/null || true
        sleep 0.3
    fi
    mkdir -p "$DIR" "$STATE"
    chmod 711 "$DIR"
    ip netns list | grep -qw "^$NETNS" || ip netns add "$NETNS"
    ip netns exec "$NETNS" ip link set lo up
    launch_incusd "$NETNS" "$DIR" "$STATE/incusd.log" >"$STATE/incusd.pid"
    if ! client admin waitready --timeout 60 >/dev/null 2>&1; then
        tail -n 20 "$STATE/incusd.log" >&2 || true
        stop
        die "the private incusd did not become ready"
    fi
    fixtures
    say "private Incus ready: export INCUS_DIR=$DIR INCUS_CONF=$CONF"
}

stop() {
    local pid=
    [ -f "$STATE/incusd.pid" ] && pid=$(cat "$STATE/incusd.pid")
    # The LXC names of its instances, whose cgroups are released at the end.
    local lxc_names=()
    if answers; then
        mapfile -t lxc_names < <(timeout 20 env INCUS_DIR="$DIR" INCUS_CONF="$CONF" incus query \
            '/1.0/instances?recursion=1&all-projects=true' 2>/dev/null \
            | jq -r '.[] | if .project == "default" then .name else "\(.project)_\(.name)" end' 2>/dev/null || true)
    fi
    if [ -S "$DIR/unix.socket" ]; then
        # Instances first, so the shutdown does not wait on them.
        timeout 60 env INCUS_DIR="$DIR" INCUS_CONF="$CONF" incus admin shutdown --force >/dev/null 2>&1 || true
    fi
    if [ -n "$pid" ]; then
        local i
        for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    ip netns pids "$NETNS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    # The daemon's own mount namespace died with it: what is left is seen here.
    remove_traces "$DIR"
    release_cgroups "${lxc_names[@]}"
    ip netns list | grep -qw "^$NETNS" && ip netns del "$NETNS"
    rm -rf "$DIR" "$STATE"
    return 0
}

case "${1:-}" in
    install) install ;;
    # Two set-ups at once (make demo beside make test, or by hand) take turns:
    # the second reuses what the first made. A lock of its own: tests/run.sh
    # holds $DIR.lock while it calls this.
    start) exec 5>"$DIR.start.lock"; flock -x 5; start ;;
    image)
        answers || die "the private Incus does not answer: tests/incus.sh start first"
        case "${2:-}" in
            debian12-cloud) debian_image bookworm debian12-cloud cloud ;;
            *) die "no on-demand image ${2:-(none named)}: debian12-cloud" ;;
        esac ;;
    stop) stop; say "private Incus stopped and removed" ;;
    status) answers ;;
    env) echo "INCUS_DIR=$DIR INCUS_CONF=$CONF" ;;
    *) echo "usage: $0 install|start|image ALIAS|stop|status|env" >&2; exit 2 ;;
esac
