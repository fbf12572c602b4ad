#!/usr/bin/env bash
# A private, real Incus daemon for golden's tests and demo.
#
#   tests/incus.sh install   install incus, btrfs-progs, busybox-static, mmdebstrap if missing
#   tests/incus.sh start     start (or reuse) the private daemon and its fixtures
#                            (images busybox and debian12: see debian_image)
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
INCUSD=/usr/libexec/incus/incusd
BTRFS_POOL=gbtrfs
DIR_POOL=gdir
BRIDGE=goldenbr0
IMAGE=busybox
DEBIAN=debian12
# Where the Debian image is built once and kept, outside the repo (a clean
# checkout or `incus.sh stop` keeps it).
CACHE=${GOLDEN_TEST_CACHE:-/var/cache/golden-tests}

say() { printf 'incus.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The client gets its own config dir too, so a user's default remote is never used.
CONF=$STATE/client
client() { INCUS_DIR=$DIR INCUS_CONF=$CONF incus "$@"; }

install() {
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

answers() { [ -S "$DIR/unix.socket" ] && timeout 5 env INCUS_DIR="$DIR" INCUS_CONF="$CONF" incus query /1.0 >/dev/null 2>&1; }

fixtures() {
    client storage show "$BTRFS_POOL" >/dev/null 2>&1 || client storage create "$BTRFS_POOL" btrfs size=4GiB >/dev/null
    client storage show "$DIR_POOL" >/dev/null 2>&1 || client storage create "$DIR_POOL" dir >/dev/null
    client profile device show default | grep -q '^root:' \
        || client profile device add default root disk path=/ pool="$BTRFS_POOL" >/dev/null
    # A managed bridge, for the static-address tests; it exists only in the namespace.
    client network show "$BRIDGE" >/dev/null 2>&1 \
        || client network create "$BRIDGE" ipv4.address=10.219.7.1/24 ipv4.nat=false ipv6.address=none >/dev/null \
        || say "warning: could not create the managed bridge $BRIDGE"
    client image alias list --format csv | grep -q "^$IMAGE," || busybox_image
    debian_image
}

# The apt line of the machine's own Debian mirror (from its debian.sources:
# URIs and Signed-By of the main suite's stanza), never a fixed host.
debian_mirror() {
    local src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ]; then
        awk -v RS= '/Suites:[^\n]*bookworm( |\n|$)/ && !/security/ {print; exit}' "$src" | awk '
            /^URIs:/ {uri = $2}
            /^Signed-By:/ {key = $2}
            END {if (uri != "") printf "deb%s %s bookworm main\n", (key != "" ? " [signed-by=" key "]" : ""), uri}'
    elif [ -f /etc/apt/sources.list ]; then
        awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print "deb " $i " bookworm main"; exit}}' /etc/apt/sources.list
    fi
}

# A real Debian 12 (systemd, openssh-server, dbus) as a unified image, built once
# with mmdebstrap and cached under $CACHE by the hash of its recipe; imported
# when the daemon lacks it (or holds another recipe's).
DEBIAN_PACKAGES=systemd-sysv,openssh-server,dbus
debian_image() {
    local recipe key tarball have
    recipe=$(printf '%s\n' "bookworm minbase $DEBIAN_PACKAGES" "$(declare -f debian_build)" "$(mmdebstrap --version)")
    key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
    tarball=$CACHE/debian12-$key.tar.gz
    have=$(client image list "$DEBIAN" --format json 2>/dev/null | jq -r '.[0].properties["golden.recipe"] // ""' 2>/dev/null || true)
    [ "$have" = "$key" ] && return 0
    if [ ! -s "$tarball" ]; then
        mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ] || { CACHE=/tmp/golden-tests-cache; mkdir -p "$CACHE"; tarball=$CACHE/debian12-$key.tar.gz; }
        [ -s "$tarball" ] || debian_build "$tarball" "$key"
    fi
    # Another recipe's image goes (instances made from it do not need it).
    [ -n "$have" ] && client image delete "$DEBIAN" >/dev/null 2>&1 || true
    say "importing $tarball as image $DEBIAN"
    client image import "$tarball" --alias "$DEBIAN" >/dev/null
}

debian_build() {
    local tarball=$1 key=$2 work mirror
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources to build the debian12 test image from"
    work=$(mktemp -d /tmp/golden-debian.XXXXXX)
    say "building the debian12 test image (mmdebstrap, about a minute; cached in $tarball)"
    # The machine's apt may serve a frozen snapshot: do not refuse it as outdated.
    mmdebstrap --quiet --variant=minbase --include="$DEBIAN_PACKAGES" \
        --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
        bookworm "$work/rootfs.tar" "$mirror" \
        || { rm -rf "$work"; die "mmdebstrap failed"; }
    mkdir "$work/rootfs"
    tar -C "$work/rootfs" --numeric-owner -xpf "$work/rootfs.tar"
    rm "$work/rootfs.tar"
    # mmdebstrap copies the build machine's hostname: name the image's own.
    printf 'debian\n' >"$work/rootfs/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$work/rootfs/etc/hosts"
    cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: Debian 12 minbase, systemd, openssh-server, dbus (golden test image)
  os: debian
  release: bookworm
  golden.recipe: "$key"
META
    tar -C "$work" --numeric-owner -czf "$tarball.part" metadata.yaml rootfs
    # Older recipes' tarballs are of no more use.
    find "$(dirname "$tarball")" -maxdepth 1 -name 'debian12-*.tar.gz' ! -name "$(basename "$tarball")" -delete
    mv "$tarball.part" "$tarball"
    rm -rf "$work"
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
    # setsid: the daemon outlives this script and ignores the terminal's signals.
    INCUS_DIR=$DIR setsid ip netns exec "$NETNS" "$INCUSD" --group root \
        >"$STATE/incusd.log" 2>&1 </dev/null 5>&- &
    echo $! >"$STATE/incusd.pid"
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
    stop) stop; say "private Incus stopped and removed" ;;
    status) answers ;;
    env) echo "INCUS_DIR=$DIR INCUS_CONF=$CONF" ;;
    *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
