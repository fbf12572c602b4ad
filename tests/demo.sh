#!/usr/bin/env bash
# make demo: bring up the private Incus and walk the seed's golden workflow,
# showing each command and its real output.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/incus.sh start
eval "export $(tests/incus.sh env)"
export PATH="$PWD/target/release:$PATH"
P=${GOLDEN_DEMO_PROJECT:-golden-demo}

show() { printf '\n$ %s\n' "$*"; "$@"; }
NETNS=${GOLDEN_INCUS_NETNS:-golden-incus}

# What systemd in the started instance $1 says once it has booted (the first
# `incus exec` may come before its init answers: a bounded poll of that state).
booted() {
    local said i
    for i in $(seq 300); do
        said=$(incus exec "$1" --project "$P" -- systemctl is-system-running --wait 2>/dev/null) || true
        case $said in running|degraded) echo "$said"; return 0 ;; esac
        sleep 0.1
    done
    echo "demo: $1 did not boot" >&2
    exit 1
}

# What ssh-keyscan of address $1 shows, from the bridge's namespace.
declare -A scanned
keyscan() { ip netns exec "$NETNS" ssh-keyscan -t ed25519 "$1" 2>/dev/null | ssh-keygen -l -f -; }

# The IPv4 address instance $1 got by DHCP (networkd says when it has one).
address() {
    incus exec "$1" --project "$P" -- /lib/systemd/systemd-networkd-wait-online -i eth0 -4 --timeout=60
    incus query "/1.0/instances/$1/state?project=$P" | jq -r '.network.eth0.addresses[] | select(.family == "inet") | .address'
}

# A fresh demo project each time (the private daemon's images and profiles).
if incus project show "$P" >/dev/null 2>&1; then
    # Goldens with clones are protected from deletion (golden-derive): lifted first.
    for i in $(incus list --project "$P" -f csv -c n); do
        incus config unset "$i" security.protection.delete --project "$P" 2>/dev/null || true
        incus delete -f "$i" --project "$P"
    done
    # Its published images, and those a killed golden-refresh left.
    for f in $(incus image list -f json | jq -r --arg p "$P" '.[] | select(.properties["golden.project"]==$p
            or ((.properties["golden.refresh.template"] // "") | startswith($p + "/"))) | .fingerprint'); do
        incus image delete "$f"
    done
    incus project delete "$P" >/dev/null
fi
incus project create "$P" -c features.images=false -c features.profiles=false >/dev/null

echo "== 1. A development template, one clone per developer"
show incus init busybox pro-dev --project "$P" -q 2>/dev/null
# (incus warns that busybox has no network; the demo needs none)
show incus start pro-dev --project "$P" -q 2>/dev/null
show incus exec pro-dev --project "$P" -- touch /root/tools-installed
show golden-create -f table pro-dev
show golden-derive -f table pro-dev pro-alice pro-bob

echo
echo "== 2. Every clone is its own machine (a real Debian 12 golden that boots)"
show incus init debian12 pro-web --project "$P" --network goldenbr0 -q
show incus start pro-web --project "$P"
booted pro-web >/dev/null
show incus exec pro-web --project "$P" -- hostnamectl set-hostname pro-web
show golden-create -f table pro-web
show golden-derive -n -f table -o instance,identity pro-web pro-carol
show golden-derive -f table -o instance,status,identity pro-web pro-carol pro-dave
show incus start pro-web pro-carol pro-dave --project "$P"
# Each one booted, seen from inside, and from the network as its users see it.
for i in pro-web pro-carol pro-dave; do
    printf '\n$ incus exec %s -- sh -c '"'"'systemctl is-system-running --wait; hostnamectl hostname; cat /etc/machine-id'"'"'\n' "$i"
    booted "$i"
    incus exec "$i" --project "$P" -- sh -c 'hostnamectl hostname; cat /etc/machine-id'
    addr=$(address "$i")
    printf '$ ssh-keyscan -t ed25519 %s | ssh-keygen -l -f -      # %s, from the bridge\n' "$addr" "$i"
    scanned[$i]=$(keyscan "$addr")
    echo "${scanned[$i]}"
done
# Any route from the golden gives a machine of its own: a plain copy too.
show incus copy pro-web/pristine pro-erin --project "$P"
show incus start pro-erin --project "$P"
booted pro-erin >/dev/null
show golden-identity -f table -o instance,status,machine_id,shares pro-web pro-carol pro-dave pro-erin
incus delete --force pro-erin --project "$P"
incus stop pro-web pro-carol pro-dave --project "$P"

echo
echo "== 3. A lab of twenty students"
show incus init busybox lab-reference --project "$P" -q 2>/dev/null
show golden-create -q -f table lab-reference
printf '\n$ seq -f "lab-student-%%g" 20 | golden-derive lab-reference -H -o instance | wc -l\n'
seq -f 'lab-student-%g' 20 | golden-derive lab-reference -H -o instance | wc -l

echo
echo "== 4. The update cycle, ending with golden-refresh"
show incus start pro-dev --project "$P" -q 2>/dev/null
show incus exec pro-dev --project "$P" -- touch /root/updated
show golden-create -f table pro-dev
# The Debian golden gets an update too; golden-create shuts it down.
show incus start pro-web --project "$P"
booted pro-web >/dev/null
printf '\n$ incus exec pro-web -- sh -c '"'"'echo v2 >/etc/golden-update'"'"'\n'
incus exec pro-web --project "$P" -- sh -c 'echo v2 >/etc/golden-update'
show golden-create -q -f table pro-web
show golden-ls -f table --project "$P"
printf '\n$ golden-ls -f json | jq -c '"'"'select(.stale > 0) | {instance, derived, stale}'"'"'\n'
golden-ls -f json --project "$P" | jq -c 'select(.stale > 0) | {instance, derived, stale}'
show golden-ls --clones -f table --project "$P" pro-dev pro-web
key() { ssh-keygen -l -f <(incus file pull "$1/etc/ssh/ssh_host_ed25519_key.pub" - --project "$P"); }
printf '\n$ ssh-keygen -l -f <(incus file pull pro-carol/etc/ssh/ssh_host_ed25519_key.pub -)\n'
before=$(key pro-carol)
echo "$before"
# Every stale clone rebuilt in place from its template's new pristine.
printf '\n$ golden-ls --clones -f json pro-dev pro-web | jq -c '"'"'select(.stale)'"'"' | golden-refresh -f table\n'
golden-ls --clones -f json --project "$P" pro-dev pro-web | jq -c 'select(.stale)' | golden-refresh -f table
show golden-ls --clones -f table --project "$P" pro-dev pro-web
printf '\n$ incus file pull pro-carol/etc/golden-update - ; ssh-keygen -l -f <(incus file pull pro-carol/etc/ssh/ssh_host_ed25519_key.pub -)\n'
incus file pull pro-carol/etc/golden-update - --project "$P"
after=$(key pro-carol)
echo "$after"
# Booted again, pro-carol shows the network the host key it had.
show incus start pro-carol --project "$P"
booted pro-carol >/dev/null
addr=$(address pro-carol)
printf '$ ssh-keyscan -t ed25519 %s | ssh-keygen -l -f -      # pro-carol, refreshed\n' "$addr"
rescanned=$(keyscan "$addr")
echo "$rescanned"
incus stop pro-carol --project "$P"
if [ "${rescanned% *}" != "${scanned[pro-carol]% *}" ]; then
    echo "demo: pro-carol's refreshed sshd shows $rescanned, it showed ${scanned[pro-carol]}" >&2
    exit 1
fi
# What the walk-through shows, checked: nothing stale, the same host key.
stale=$(golden-ls --clones -f json --project "$P" | jq -s 'map(select(.stale)) | length')
if [ "$stale" != 0 ] || [ "$before" != "$after" ]; then
    echo "demo: after golden-refresh, $stale clone(s) stale; pro-carol's host key was $before, is $after" >&2
    exit 1
fi

echo
echo "== 5. A bad update: revoked, rolled back"
# Each pristine is a generation; the one a create replaces is kept.
show incus start pro-web --project "$P"
booted pro-web >/dev/null
printf '\n$ incus exec pro-web -- sh -c '"'"'echo v3 >/etc/golden-update'"'"'\n'
incus exec pro-web --project "$P" -- sh -c 'echo v3 >/etc/golden-update'
show golden-create -q -f table pro-web
printf '\n$ golden-revoke -f table --reason '"'"'v3 breaks the app'"'"' pro-web\n'
golden-revoke -f table --reason 'v3 breaks the app' pro-web --project "$P"
# No new clone nor image of it...
show golden-derive pro-web pro-frank --project "$P" || true
show golden-ls --generations -f table pro-web --project "$P"
# ...and the golden back to generation 2: its clones, still on it, are up to date.
show golden-create -f table --rollback pro-web --project "$P"
show golden-ls --clones -f table pro-web --project "$P"
printf '\n$ incus file pull pro-web/etc/golden-update -\n'
rolled=$(incus file pull pro-web/etc/golden-update - --project "$P")
echo "$rolled"
if [ "$rolled" != v2 ] || incus info pro-frank --project "$P" >/dev/null 2>&1; then
    echo "demo: after the rollback pro-web holds $rolled; pro-frank must not exist" >&2
    exit 1
fi

echo
echo "== 6. Publish, and launch from the image"
show golden-publish -f table --replace pro-dev --alias golden-pro
show incus launch golden-pro from-image --project "$P" -q 2>/dev/null
show golden-ls -f table
