# What a private daemon leaves behind under its directory, removed: sourced
# by tests/incus.sh and tests/cluster.sh, after they have stopped their
# daemons and killed what ran in their network namespaces.

# remove_traces DIR: processes still running from DIR (forkd, dnsmasq,
# containers' monitors), then its mounts visible here (deepest first) and
# its loop devices.
remove_traces() {
    local dir=$1 p mnt loop
    for p in $(pgrep -f -- "$dir/" 2>/dev/null || true); do kill -9 "$p" 2>/dev/null || true; done
    sleep 0.3
    for mnt in $(awk -v d="$dir/" 'index($2 "/", d) == 1 {print $2}' /proc/self/mounts | sort -r); do
        umount -l "$mnt" 2>/dev/null || true
    done
    for loop in $(losetup -nO NAME,BACK-FILE 2>/dev/null | awk -v d="$dir/" 'index($2, d) == 1 {print $1}'); do
        losetup -d "$loop" 2>/dev/null || true
    done
}
