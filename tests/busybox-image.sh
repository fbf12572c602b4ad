# The busybox test image, built offline: sourced by tests/incus.sh and
# tests/cluster.sh, which each define `client` (their own daemon) and IMAGE.

busybox_image() {
    local work
    work=$(mktemp -d)
    mkdir -p "$work/rootfs"/{bin,sbin,proc,sys,dev,tmp,etc,root,data}
    cp /bin/busybox "$work/rootfs/bin/busybox"
    local a
    for a in sh ls cat echo sleep touch rm mkdir df du dd sync true false ip hostname; do
        ln -s busybox "$work/rootfs/bin/$a"
    done
    ln -s ../bin/busybox "$work/rootfs/sbin/init"
    printf 'golden-test\n' >"$work/rootfs/etc/hostname"
    cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: busybox (golden test image)
  os: busybox
  release: static
META
    tar -C "$work" -czf "$work/busybox.tar.gz" metadata.yaml rootfs
    client image import "$work/busybox.tar.gz" --alias "$IMAGE" >/dev/null
    rm -rf "$work"
}
