#!/usr/bin/env bash
# A private, real 3-member Incus cluster for golden's cluster tests and bench.
#
#   tests/cluster.sh start            start (or reuse) the cluster and its fixtures
#   tests/cluster.sh stop             stop it and remove every trace (processes, mounts,
#                                     loops, network namespaces, directories)
#   tests/cluster.sh status           exit 0 if member 1 answers and all members are ONLINE
#   tests/cluster.sh env              print INCUS_DIR and INCUS_CONF to export for it
#   tests/cluster.sh member-stop M    stop member M's daemon (kill by pid; its instances stay)
#   tests/cluster.sh member-start M   start member M's daemon again and wait until it is ONLINE
#   tests/cluster.sh member-block M N    refuse member M's new connections to member N's API
#                                        (port 8443): once N restarts, M answers "Server
#                                        isn't ready yet" about N while the block holds
#   tests/cluster.sh member-unblock M N  lift that block
#
# Each member (m1, m2, m3) is an incusd under its own INCUS_DIR ($DIR/mN) in its own
# network namespace; the namespaces are joined by veth pairs to a bridge in a fourth
# namespace, with addresses that exist only there. Each member has a btrfs pool
# `local` (a loop file of its own) and a managed bridge `goldenbr0` (DHCP), and the
# busybox and debian12 images are in the cluster's store.
# Clients on the host talk to member 1 through its socket (INCUS_DIR=$DIR/m1).
set -euo pipefail

DIR=${GOLDEN_CLUSTER_DIR:-/tmp/golden-cluster}
NS=${GOLDEN_CLUSTER_NETNS:-gcl}     # namespaces $NS-br, $NS-m1, $NS-m2, $NS-m3
STATE=$DIR.state                    # pids, logs, client config: beside the members' dirs
CONF=$STATE/client
NET=10.77.0                         # member N is $NET.1N, inside the namespaces only
MEMBERS="m1 m2 m3"
POOL=local
POOL_SIZE=${GOLDEN_CLUSTER_POOL_SIZE:-5GiB}
IMAGE=busybox

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

num() { echo "${1#m}"; }
addr() { echo "$NET.1$(num "$1")"; }
mdir() { echo "$DIR/$1"; }
# A client of member M (default m1) from the host: its socket, our own client config.
client() { INCUS_DIR=$(mdir m1) INCUS_CONF=$CONF incus "$@"; }
mclient() { local m=$1; shift; INCUS_DIR=$(mdir "$m") INCUS_CONF=$CONF incus "$@"; }

member_answers() {
    [ -S "$(mdir "$1")/unix.socket" ] && timeout 5 env INCUS_DIR="$(mdir "$1")" INCUS_CONF="$CONF" incus query /1.0 >/dev/null 2>&1
}

# All three members ONLINE, as member 1 sees them.
answers() {
    member_answers m1 || return 1
    local online
    online=$(timeout 10 env INCUS_DIR="$(mdir m1)" INCUS_CONF="$CONF" incus query /1.0/cluster/members?recursion=1 2>/dev/null \
        | jq -r '[.[] | select(.status == "Online")] | length' 2>/dev/null) || return 1
    [ "$online" = 3 ]
}

network() {
    ip netns list | grep -qw "^$NS-br" || ip netns add "$NS-br"
    ip -n "$NS-br" link set lo up
    ip -n "$NS-br" link show br0 >/dev/null 2>&1 || ip -n "$NS-br" link add br0 type bridge
    ip -n "$NS-br" link set br0 up
    local m
    for m in $MEMBERS; do
        ip netns list | grep -qw "^$NS-$m" || ip netns add "$NS-$m"
        ip -n "$NS-$m" link set lo up
        if ! ip -n "$NS-$m" link show eth0 >/dev/null 2>&1; then
            ip -n "$NS-$m" link add eth0 type veth peer name "$m" netns "$NS-br"
            ip -n "$NS-$m" addr add "$(addr "$m")/24" dev eth0
        fi
        ip -n "$NS-$m" link set eth0 up
        ip -n "$NS-br" link set "$m" master br0 up
    done
}

start_daemon() {
    local m=$1
    mkdir -p "$(mdir "$m")" "$STATE"
    chmod 711 "$(mdir "$m")"
    launch_incusd "$NS-$m" "$(mdir "$m")" "$STATE/$m.log" >"$STATE/$m.pid"
    if ! mclient "$m" admin waitready --timeout 60 >/dev/null 2>&1; then
        tail -n 20 "$STATE/$m.log" >&2 || true
        return 1
    fi
}

bootstrap() {
    # No cluster.* key before the members have joined (it breaks PUT /1.0 for good).
    mclient m1 admin init --preseed >/dev/null <<EOF
config:
  core.https_address: $(addr m1):8443
cluster:
  server_name: m1
  enabled: true
storage_pools:
- name: $POOL
  driver: btrfs
  config:
    size: $POOL_SIZE
profiles:
- name: default
  devices:
    root:
      path: /
      pool: $POOL
      type: disk
EOF
}

join() {
    local m=$1 token
    token=$(client cluster add "$m" --quiet)
    # The join's client runs inside the member's namespace (the token names addresses there).
    ip netns exec "$NS-$m" env INCUS_DIR="$(mdir "$m")" INCUS_CONF="$CONF" incus admin init --preseed >/dev/null <<EOF
cluster:
  enabled: true
  server_name: $m
  server_address: $(addr "$m"):8443
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: $POOL
    key: size
    value: $POOL_SIZE
EOF
}

. "$(dirname "$0")/busybox-image.sh"
. "$(dirname "$0")/traces.sh"
. "$(dirname "$0")/incusd.sh"
. "$(dirname "$0")/debian-image.sh"

# A managed bridge on every member (in each member's namespace: the members'
# guests never meet), for booted Debian guests with DHCP, as tests/incus.sh
# makes one for the standalone daemon; same name, so the tests' helpers work on
# both. No DNS: projects of their own reuse names.
BRIDGE=goldenbr0
bridge() {
    client network show "$BRIDGE" >/dev/null 2>&1 && return 0
    local m
    for m in $MEMBERS; do
        client network create "$BRIDGE" --target "$m" >/dev/null
    done
    client network create "$BRIDGE" ipv4.address=10.219.8.1/24 ipv4.nat=false ipv6.address=none dns.mode=none >/dev/null
}

fixtures() {
    client image alias list --format csv | grep -q "^$IMAGE," || busybox_image
    bridge || die "could not create the managed bridge $BRIDGE on the members"
    # systemd-networkd waits for udev (which minbase lacks) when /sys is
    # writable (see tests/incus.sh).
    [ "$(client profile get default raw.lxc)" = "lxc.mount.auto = sys:ro" ] \
        || client profile set default raw.lxc="lxc.mount.auto = sys:ro"
    debian_image bookworm debian12
}

start() {
    tests/incus.sh install
    if answers; then
        fixtures
        say "reusing the private cluster: export INCUS_DIR=$(mdir m1) INCUS_CONF=$CONF"
        return 0
    fi
    # Whatever is there but not whole (a killed start, a member down) is removed:
    # a cluster half made is quicker made again (about 5 s) than repaired.
    if [ -d "$DIR" ] || [ -d "$STATE" ] || ip netns list | grep -q "^$NS-"; then
        say "removing a cluster that is not whole"
        stop
    fi
    network
    start_daemon m1 || { stop; die "member m1 did not become ready"; }
    bootstrap || { stop; die "member m1 could not be initialised"; }
    local m
    for m in m2 m3; do
        start_daemon "$m" || { stop; die "member $m did not become ready"; }
        join "$m" || { tail -n 20 "$STATE/$m.log" >&2; stop; die "member $m could not join"; }
    done
    # Only now: a stopped member is seen offline after 30 s. The members
    # heartbeat every threshold/2; with 11 s (the shortest Incus takes), a round
    # late by a second on a loaded machine had members see one another offline
    # (a fresh-clone run, load 12 on two cores: "No heartbeat for 11.6s" about
    # a member that was up). Incus's default is 20 s.
    client config set cluster.offline_threshold 30 >/dev/null
    fixtures
    say "private cluster ready: export INCUS_DIR=$(mdir m1) INCUS_CONF=$CONF"
}

# Stops one member's daemon by its pid: SIGTERM, then SIGKILL after 5 s.
kill_member() {
    local m=$1 pid=
    [ -f "$STATE/$m.pid" ] && pid=$(cat "$STATE/$m.pid")
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    for i in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$STATE/$m.pid"
}

member_stop() {
    local m=$1
    [[ " $MEMBERS " == *" $m "* ]] || die "no member $m (one of: $MEMBERS)"
    kill_member "$m"
    # Its socket stays behind a killed daemon: remove it, so nothing waits on it.
    rm -f "$(mdir "$m")/unix.socket"
}

member_start() {
    local m=$1
    [[ " $MEMBERS " == *" $m "* ]] || die "no member $m (one of: $MEMBERS)"
    member_answers "$m" || start_daemon "$m" || die "member $m did not become ready"
    # Seen ONLINE by member 1 again (heartbeats), and answering what member 1
    # forwards to it: a member just started can be ONLINE and still tell the
    # others "Server isn't ready yet" (an image transfer from it failed so
    # once, in the test after this). A bounded poll of state.
    local i
    for i in $(seq 120); do
        [ "$(client query "/1.0/cluster/members/$m" 2>/dev/null | jq -r .status)" = Online ] \
            && client query "/1.0/resources?target=$m" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "member $m did not come back ONLINE and ready within 60 s"
}

# Member M's new TCP connections to member N's port 8443, refused with a reset (M's
# daemon fails at once instead of waiting on dropped packets), in M's namespace only:
# nothing outside the cluster's namespaces changes. Connections N opens to M, and
# M's answers on them, pass. nftables, else iptables (Debian's incus depends on one).
member_block() {
    local m=$1 n=$2
    [[ " $MEMBERS " == *" $m "* && " $MEMBERS " == *" $n "* && $m != "$n" ]] \
        || die "member-block needs two members (of: $MEMBERS)"
    member_unblock "$m" "$n"   # once, however often asked
    if command -v nft >/dev/null; then
        ip netns exec "$NS-$m" nft -f - <<EOF
table inet golden_block_$n {
    chain output {
        type filter hook output priority 0; policy accept;
        ip daddr $(addr "$n") tcp dport 8443 ct state new reject with tcp reset
    }
}
EOF
    elif command -v iptables >/dev/null; then
        ip netns exec "$NS-$m" iptables -C OUTPUT "${block_rule[@]/@N@/$(addr "$n")}" 2>/dev/null \
            || ip netns exec "$NS-$m" iptables -A OUTPUT "${block_rule[@]/@N@/$(addr "$n")}"
    else
        die "member-block needs nft or iptables (apt-get install nftables)"
    fi
}

# The iptables form of the rule (@N@: the blocked member's address).
block_rule=(-d @N@ -p tcp --dport 8443 -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset)

member_unblock() {
    local m=$1 n=$2
    [[ " $MEMBERS " == *" $m "* && " $MEMBERS " == *" $n "* ]] \
        || die "member-unblock needs two members (of: $MEMBERS)"
    if command -v nft >/dev/null; then
        if ip netns exec "$NS-$m" nft list table inet "golden_block_$n" >/dev/null 2>&1; then
            ip netns exec "$NS-$m" nft delete table inet "golden_block_$n"
        fi
    elif command -v iptables >/dev/null; then
        while ip netns exec "$NS-$m" iptables -D OUTPUT "${block_rule[@]/@N@/$(addr "$n")}" 2>/dev/null; do :; done
    fi
    return 0
}

stop() {
    local m
    # Instances first (forced), so that no daemon waits on them while it stops.
    local lxc_names=()
    if member_answers m1; then
        local p all
        all=$(timeout 20 env INCUS_DIR="$(mdir m1)" INCUS_CONF="$CONF" incus query \
            '/1.0/instances?recursion=1&all-projects=true' 2>/dev/null || true)
        # Their LXC names, whose cgroups are released at the end.
        mapfile -t lxc_names < <(jq -r '.[] | if .project == "default" then .name else "\(.project)_\(.name)" end' <<<"$all" 2>/dev/null || true)
        for p in $(jq -r '.[] | select(.status == "Running") | "\(.project)/\(.name)"' <<<"$all" 2>/dev/null); do
            timeout 20 env INCUS_DIR="$(mdir m1)" INCUS_CONF="$CONF" incus stop --force \
                --project "${p%%/*}" "${p#*/}" >/dev/null 2>&1 || true
        done
    fi
    # Then the daemons, by pid (faster than `incus admin shutdown`, 20-40 s here).
    for m in $MEMBERS; do kill_member "$m" & done
    wait
    for m in br $MEMBERS; do
        ip netns pids "$NS-$m" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    done
    # The daemons' own mount namespaces died with them: what is left is seen here.
    remove_traces "$DIR"
    release_cgroups "${lxc_names[@]}"
    for m in $MEMBERS br; do
        if ip netns list | grep -qw "^$NS-$m"; then ip netns del "$NS-$m"; fi
    done
    rm -rf "$DIR" "$STATE"
    return 0
}

cd "$(dirname "$0")/.."
case "${1:-}" in
    start) start ;;
    stop) stop; say "private cluster stopped and removed" ;;
    status) answers ;;
    env) echo "INCUS_DIR=$(mdir m1) INCUS_CONF=$CONF" ;;
    member-stop) member_stop "${2:?member-stop needs a member}" ;;
    member-start) member_start "${2:?member-start needs a member}" ;;
    member-block) member_block "${2:?member-block needs M N}" "${3:?member-block needs M N}" ;;
    member-unblock) member_unblock "${2:?member-unblock needs M N}" "${3:?member-unblock needs M N}" ;;
    *) echo "usage: $0 start|stop|status|env|member-stop M|member-start M|member-block M N|member-unblock M N" >&2; exit 2 ;;
esac
