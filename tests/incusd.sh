# Starting a private incusd whose containers boot systemd: sourced by
# tests/incus.sh and tests/cluster.sh.
#
# `ip netns exec` gives the daemon a mount namespace with a fresh sysfs on
# /sys, which hides the host's /sys/fs/cgroup and every cgroup hierarchy under
# it: LXC then finds none, the container gets no cgroups and systemd exits
# ("Failed to create /init.scope control group"). So the hierarchies are
# mounted again inside that namespace, exactly as the host has them (v1
# hierarchies with the same controller sets re-attach the existing ones), and
# only then is incusd started (../shared/INCUS-HERE.md, "Guests that boot").

INCUSD=/usr/libexec/incus/incusd

# The host's cgroup mounts, parents first: "FSTYPE PATH OPTIONS" a line.
cgroup_mounts() {
    awk '$2 == "/sys/fs/cgroup" || index($2, "/sys/fs/cgroup/") == 1 {print $3, $2, $4}' /proc/self/mounts
}

# launch_incusd NETNS DIR LOG: incusd for DIR in network namespace NETNS, its
# hierarchies mounted first, detached (setsid: it outlives the caller and
# ignores the terminal's signals); its pid on stdout.
launch_incusd() {
    local netns=$1 dir=$2 log=$3 mounts
    mounts=$(cgroup_mounts)
    [ -n "$mounts" ] || { printf 'incusd.sh: this host has no cgroup mounts under /sys/fs/cgroup\n' >&2; return 1; }
    # Every booted guest's systemd takes inotify instances: the kernel's default
    # (128) stops about the 18th guest at boot ("Too many open files").
    local inotify
    inotify=$(sysctl -n fs.inotify.max_user_instances 2>/dev/null || echo 0)
    [ "$inotify" -ge 1024 ] || sysctl -qw fs.inotify.max_user_instances=1024 || true
    # Every booted guest's systemd gives its units kernel keyrings, counted
    # against the one host uid all containers' root maps to: with the kernel's
    # default (200 keys, 20000 bytes), 16 Debian guests started at once left
    # 3 "degraded" ("dev-mqueue.mount: Failed at step KEYRING spawning
    # /bin/mount: Required key not available"; /proc/key-users: 184/200).
    # Incus's production setup asks for these values.
    local keys
    keys=$(sysctl -n kernel.keys.maxkeys 2>/dev/null || echo 0)
    [ "$keys" -ge 2000 ] || sysctl -qw kernel.keys.maxkeys=2000 || true
    keys=$(sysctl -n kernel.keys.maxbytes 2>/dev/null || echo 0)
    [ "$keys" -ge 2000000 ] || sysctl -qw kernel.keys.maxbytes=2000000 || true
    GOLDEN_CGROUP_MOUNTS=$mounts INCUS_DIR=$dir setsid ip netns exec "$netns" bash -c '
        set -e
        while read -r type path opts; do
            mkdir -p "$path"
            mount -t "$type" -o "$opts" "$type" "$path"
        done <<<"$GOLDEN_CGROUP_MOUNTS"
        unset GOLDEN_CGROUP_MOUNTS
        exec '"$INCUSD"' --group root' >>"$log" 2>&1 </dev/null 5>&- 6>&- 7>&- 8>&- 9>&- &
    echo $!
}

# release_cgroups NAME...: the cgroups LXC left at the root of the shared
# hierarchies for the containers NAMEd (their LXC names: PROJECT_NAME, or NAME
# in project default), as a killed daemon leaves them, and the empty lxc.pivot
# directories every stop leaves. rmdir only: a cgroup that still holds a
# process is never removed.
release_cgroups() {
    local h d name
    for h in /sys/fs/cgroup/*/; do
        [ -d "$h" ] || continue
        for name in "$@"; do
            [ -n "$name" ] || continue
            for d in "${h}lxc.payload.$name" "${h}lxc.monitor.$name"; do
                [ ! -d "$d" ] || find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
            done
        done
        # Another daemon's guest may be using it: then it stays (under
        # `set -e`, a failed rmdir must not end the caller's cleanup).
        [ ! -d "${h}lxc.pivot" ] || rmdir "${h}lxc.pivot" 2>/dev/null || true
    done
    return 0
}
