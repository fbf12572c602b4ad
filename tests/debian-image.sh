# Real Debian test images, built with mmdebstrap from the machine's own apt
# mirror: sourced by tests/incus.sh, which defines `client`, `say`, `die`.
#
#   debian_image SUITE ALIAS [cloud]
#                              import Debian SUITE (bookworm, trixie) as ALIAS
#                              unless the daemon holds this recipe's already
#
# The guest boots: systemd as PID 1, systemd-networkd asking DHCP on eth0,
# sshd, dbus. Built once per recipe and cached under $CACHE by its hash.
#
# `cloud` adds Debian's cloud-init, seeded as Incus's own cloud images seed it
# in a container: NoCloud files under /var/lib/cloud/seed/nocloud-net that the
# image's templates render at create and copy (instance-id and local-hostname:
# the instance's name; user-data and vendor-data: its cloud-init.* keys).
# cloud-init leaves the network to networkd. Built only when a test asks for
# it (tests/incus.sh image ALIAS), not by `start`.

CACHE=${GOLDEN_TEST_CACHE:-/var/cache/golden-tests}
DEBIAN_PACKAGES=systemd-sysv,openssh-server,dbus

# The apt line of the machine's own Debian mirror for SUITE (from its
# debian.sources: URIs and Signed-By of the main suite's stanza), never a
# fixed host.
debian_mirror() {
    local suite=$1 src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ]; then
        awk -v RS= '/Suites:/ && !/security/ {print; exit}' "$src" | awk -v suite="$suite" '
            /^URIs:/ {uri = $2}
            /^Signed-By:/ {key = $2}
            END {if (uri != "") printf "deb%s %s %s main\n", (key != "" ? " [signed-by=" key "]" : ""), uri, suite}'
    elif [ -f /etc/apt/sources.list ]; then
        awk -v suite="$suite" '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) {print "deb " $i " " suite " main"; exit}}' /etc/apt/sources.list
    fi
}

debian_image() {
    local suite=$1 alias=$2 variant=${3:-} recipe key tarball have
    recipe=$(printf '%s\n' "$suite minbase $DEBIAN_PACKAGES $variant" "$(declare -f debian_build debian_cloud)" "$(mmdebstrap --version)")
    key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
    have=$(client image list "$alias" --format json 2>/dev/null | jq -r '.[0].properties["golden.recipe"] // ""' 2>/dev/null || true)
    [ "$have" = "$key" ] && return 0
    mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ] || { CACHE=/tmp/golden-tests-cache; mkdir -p "$CACHE"; }
    tarball=$CACHE/$alias-$key.tar.gz
    # Two daemons set up at once (two runs on one machine) build it once.
    (
        flock -x 3
        [ -s "$tarball" ] || debian_build "$suite" "$alias" "$tarball" "$key" "$variant"
    ) 3>"$CACHE/$alias.lock"
    [ -s "$tarball" ] || die "the $alias test image was not built"
    # Another recipe's image goes (instances made from it do not need it).
    [ -n "$have" ] && client image delete "$alias" >/dev/null 2>&1 || true
    say "importing $tarball as image $alias"
    client image import "$tarball" --alias "$alias" >/dev/null
}

debian_build() {
    local suite=$1 alias=$2 tarball=$3 key=$4 variant=${5:-} work mirror packages=$DEBIAN_PACKAGES
    # locales: cloud-init sets the locale at first boot (update-locale).
    [ "$variant" = cloud ] && packages=$packages,cloud-init,locales
    mirror=$(debian_mirror "$suite")
    [ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources to build the $alias test image from"
    work=$(mktemp -d /tmp/golden-debian.XXXXXX)
    say "building the $alias test image (Debian $suite, mmdebstrap, about a minute; cached in $tarball)"
    # The machine's apt may serve a frozen snapshot: do not refuse it as outdated.
    # networkd (part of Debian's systemd) asks DHCP on eth0, the NIC Incus gives.
    # Trixie's minbase has /etc/modules-load.d/modules.conf pointing at a
    # missing /etc/modules: systemd-modules-load fails on it, the system boots
    # "degraded"; the dangling link goes.
    mmdebstrap --quiet --variant=minbase --include="$packages" \
        --aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"' \
        --customize-hook='printf "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n" >"$1/etc/systemd/network/eth0.network"' \
        --customize-hook='chroot "$1" systemctl enable --quiet systemd-networkd.service systemd-networkd.socket' \
        --customize-hook='find "$1/etc/modules-load.d" -xtype l -delete' \
        "$suite" "$work/rootfs.tar" "$mirror" \
        || { rm -rf "$work"; die "mmdebstrap failed"; }
    mkdir "$work/rootfs"
    tar -C "$work/rootfs" --numeric-owner -xpf "$work/rootfs.tar"
    rm "$work/rootfs.tar"
    # mmdebstrap copies the build machine's hostname: name the image's own.
    printf 'debian\n' >"$work/rootfs/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$work/rootfs/etc/hosts"
    # An image holds no machine-id: the first boot makes one.
    : >"$work/rootfs/etc/machine-id"
    cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: Debian $suite minbase, systemd, networkd, openssh-server, dbus${variant:+, $variant-init} (golden test image)
  os: debian
  release: $suite
  golden.recipe: "$key"
META
    local parts=(metadata.yaml rootfs)
    if [ "$variant" = cloud ]; then
        debian_cloud "$work"
        parts+=(templates)
    fi
    tar -C "$work" --numeric-owner -czf "$tarball.part" "${parts[@]}"
    # Older recipes' tarballs are of no more use.
    find "$(dirname "$tarball")" -maxdepth 1 -name "$alias-*.tar.gz" ! -name "$(basename "$tarball")" -delete
    mv "$tarball.part" "$tarball"
    rm -rf "$work"
}

# The cloud variant's seed: Incus renders it from the image's templates at
# create and copy, as its own cloud images do in a container (Incus offers no
# cloud-init datasource of its own there; /dev/incus is not the /dev/lxd/sock
# cloud-init's LXD datasource looks for).
debian_cloud() {
    local work=$1 seed=/var/lib/cloud/seed/nocloud-net
    mkdir -p "$work/rootfs$seed" "$work/templates"
    # The network is networkd's; C.UTF-8 is there without a locale-gen at
    # every first boot (en_US.UTF-8, cloud-init's default, is not generated:
    # its locale module would fail, and the guest boot "degraded").
    printf 'network:\n  config: disabled\nlocale: C.UTF-8\n' >"$work/rootfs/etc/cloud/cloud.cfg.d/99-golden-test.cfg"
    printf 'instance-id: {{ instance.name }}\nlocal-hostname: {{ instance.name }}\n' \
        >"$work/templates/cloud-init-meta-data.tpl"
    printf '{{ config_get("cloud-init.%s", properties.default) }}\n' user-data >"$work/templates/cloud-init-user-data.tpl"
    printf '{{ config_get("cloud-init.%s", properties.default) }}\n' vendor-data >"$work/templates/cloud-init-vendor-data.tpl"
    cat >>"$work/metadata.yaml" <<META
templates:
  $seed/meta-data:
    when: [create, copy]
    template: cloud-init-meta-data.tpl
  $seed/user-data:
    when: [create, copy]
    template: cloud-init-user-data.tpl
    properties:
      default: "#cloud-config\\n{}"
  $seed/vendor-data:
    when: [create, copy]
    template: cloud-init-vendor-data.tpl
    properties:
      default: "#cloud-config\\n{}"
META
}
