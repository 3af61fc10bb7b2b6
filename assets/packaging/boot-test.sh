#!/usr/bin/env bash
# Boots a fresh Debian 12 with systemd as PID 1 (a container, systemd-nspawn -b,
# on a private network: it has only its own loopback), installs the two packages
# from build-packages.sh there the way README.md's Install section says, and
# checks what an operator and a desktop user would see:
#
#   apt install ./snapwire_*.deb ./snapwire-relay_*.deb
#   /etc/default/snapwire-relay: SNAPWIRE_LISTEN=127.0.0.1:7600, SNAPWIRE_NO_MDNS=true
#   systemctl enable --now snapwire-relay    active, listening on 127.0.0.1:7600 only
#   a text and a picture into its history, in the state directory
#   systemctl reboot                         the relay is back by itself, same history (since 0)
#   the menu entry, "Open with" for pictures, the icons, the app's libraries
#   apt install of a newer version           the running relay restarts on it, same history
#   apt remove, dpkg --purge                 stopped, settings gone, history kept (README's policy)
#
# Run as root on Debian (CI does), after build-packages.sh:
#
#   bash assets/packaging/boot-test.sh
#
# The Debian root is made with debootstrap from the Debian mirror and cached in
# /var/tmp/snapwire-boot-test/ (a week); every run boots a fresh copy of it.
#
# Two outcomes besides success. FAIL (exit 1): something of ours is wrong, from
# `apt install` of our packages on. SKIPPED (exit 0, a banner saying why):
# the host cannot give us a booted clean Debian (no mirror, no debootstrap or
# systemd-nspawn to install, a kernel that cannot boot a container, too little
# disk), which says nothing about the packages. SNAPWIRE_BOOT_TEST=require makes
# a skip a failure, for a machine where the test must run.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
target=${CARGO_TARGET_DIR:-target}
cache=/var/tmp/snapwire-boot-test
base=$cache/base-bookworm
run=$cache/run
mirror=${SNAPWIRE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a fresh Debian with systemd has, plus what the checks below read with:
# desktop-file-utils (the validator, and the trigger that indexes MimeType=),
# xdg-utils (xdg-mime, what scripts and xdg-open ask for a default), GIO and
# shared-mime-info (what GNOME's and Xfce's file managers ask: a file's type, then
# the application that opens it).
base_packages=systemd,systemd-sysv,dbus,desktop-file-utils,xdg-utils,libglib2.0-bin,shared-mime-info
port=7600
started=$(date +%s)
phase=environment   # becomes "packages" at `apt install` of ours
passed=0
nspawn_pid=
leader=

elapsed() { echo "$(( $(date +%s) - started )) s"; }
ok() {
    passed=$((passed + 1))
    echo "ok: $* [$(elapsed)]"
}
fail() {
    if [ "$phase" = environment ]; then
        skip "$*"
    fi
    echo "FAIL: $*" >&2
    echo "boot test: $passed passed, 1 failed ($(elapsed))"
    exit 1
}
skip() {
    {
        echo
        echo "#####################################################################"
        echo "# SKIPPED: the boot test on a fresh Debian did not run."
        echo "# Reason (this host, not the packages): $*"
        echo "# The packages were NOT tested booted; check-packages.sh's results stand."
        echo "#####################################################################"
    } >&2
    if [ "${SNAPWIRE_BOOT_TEST:-}" = require ]; then
        echo "boot test: SNAPWIRE_BOOT_TEST=require, so a skip fails" >&2
        exit 1
    fi
    exit 0
}

# --- the container ----------------------------------------------------------
# Runs a command in the booted system (its mounts, PID 1, network, cgroup).
in_box() {
    nsenter -t "$leader" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}
# Runs one of the host's tools (python3, ss) in the booted system's network only:
# its 127.0.0.1 is the container's own loopback.
in_box_net() {
    nsenter -t "$leader" -n -- "$@"
}

boot_count=0
boot() {
    boot_count=$((boot_count + 1))
    local log=$cache/nspawn-$boot_count.log
    # --private-network: only a loopback of its own, so nothing it sends (mDNS
    # included) leaves it. --register=no --keep-unit: the host has no systemd as
    # PID 1 to register the machine with or put it in a scope of its own.
    systemd-nspawn --quiet --directory="$run" --boot --private-network \
        --register=no --keep-unit --console=pipe </dev/null >"$log" 2>&1 &
    nspawn_pid=$!
    leader=
    local i
    for i in $(seq 300); do
        leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
        [ -n "$leader" ] && break
        kill -0 "$nspawn_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$leader" ] || fail "systemd-nspawn did not start systemd (boot $boot_count): $(tail -n 20 "$log")"
    # Event-based: --wait returns when the boot has finished (or failed).
    local state=
    for i in $(seq 50); do
        state=$(in_box timeout 120 systemctl is-system-running --wait 2>/dev/null || true)
        case "$state" in running|degraded|maintenance|stopping) break ;; esac
        # PID 1 has not opened its control socket yet.
        sleep 0.2
    done
    case "$state" in
        running) ;;
        degraded) echo "note: boot $boot_count is degraded: $(in_box systemctl --failed --no-legend --plain | tr '\n' ' ')" ;;
        *) fail "systemd in the container did not finish booting (boot $boot_count: '$state'): $(tail -n 20 "$log")" ;;
    esac
}
# Waits (bounded) for systemd-nspawn to end and returns its exit code: 0 after
# poweroff, 133 after reboot (what systemd-nspawn@.service restarts on).
wait_nspawn() {
    local limit=$1 rc=0
    # The watchdog's output goes nowhere: a sleep left holding this script's
    # stdout would keep a pipe reading it open after the script ends.
    ( exec >/dev/null 2>&1; sleep "$limit"; kill -TERM "$nspawn_pid"; sleep 15; kill -KILL "$nspawn_pid" ) &
    local watchdog=$!
    wait "$nspawn_pid" || rc=$?
    local sleeper
    sleeper=$(pgrep -P "$watchdog" || true)
    kill "$watchdog" 2>/dev/null || true
    if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null || true; fi
    wait "$watchdog" 2>/dev/null || true
    nspawn_pid=
    leader=
    return "$rc"
}
cleanup() {
    if [ -n "$nspawn_pid" ]; then
        # SIGTERM to systemd-nspawn powers the container off cleanly.
        kill -TERM "$nspawn_pid" 2>/dev/null || true
        wait_nspawn 30 || true
    fi
    rm -rf "$run"
}
trap cleanup EXIT

# --- 1. the host: what it takes to boot a clean Debian ------------------------
[ "$(id -u)" = 0 ] || fail "must run as root (debootstrap and systemd-nspawn need it)"
app_deb=$(ls -t "$target"/debian/snapwire_*.deb 2>/dev/null | head -n1)
relay_deb=$(ls -t "$target"/debian/snapwire-relay_*.deb 2>/dev/null | head -n1)
if [ -z "$app_deb" ] || [ -z "$relay_deb" ]; then
    phase=packages
    fail "no packages in $target/debian: run build-packages.sh"
fi
for tool in nsenter flock pgrep ss ip python3; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing on this host (util-linux, procps, iproute2, python3)"
done

mkdir -p "$cache"
# One boot test at a time on a machine: they share the cached root and the copy.
exec 9>"$cache/lock"
flock -w 900 9 || fail "another boot test held $cache/lock for 15 minutes"
free_mb=$(df -Pm "$cache" | awk 'NR == 2 { print $4 }')
[ "$free_mb" -ge 2048 ] || fail "only $free_mb MB free under $cache (the test needs 2 GB)"

# The Debian mirror, asked once with a timeout: an unreachable one is the usual
# reason this test cannot run, and says so here rather than in debootstrap's log.
python3 - "$mirror" <<'EOF' || fail "the Debian mirror $mirror is unreachable"
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/dists/bookworm/Release", timeout=20).read(1)
except Exception as e:
    sys.exit("%s/dists/bookworm/Release: %s" % (sys.argv[1], e))
EOF

need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
if [ "${#need[@]}" -gt 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${need[@]}" >"$cache/apt-host.log" 2>&1; } \
        || fail "could not install ${need[*]} on this host: $(tail -n 5 "$cache/apt-host.log")"
fi

# A Debian 12 as debootstrap makes it: cached, rebuilt after a week.
if [ ! -f "$base/.snapwire-base" ] || [ "$(cat "$base/.snapwire-base")" != "$base_packages" ] \
    || [ -n "$(find "$base/.snapwire-base" -mtime +7)" ]; then
    rm -rf "$base" "$base.new"
    t=$(date +%s)
    nice -n 10 debootstrap --variant=minbase --include="$base_packages" bookworm "$base.new" "$mirror" \
        >"$cache/debootstrap.log" 2>&1 \
        || fail "debootstrap failed: $(tail -n 5 "$cache/debootstrap.log")"
    echo "$base_packages" >"$base.new/.snapwire-base"
    mv "$base.new" "$base"
    echo "debootstrap: a Debian 12 minbase with $base_packages in $(( $(date +%s) - t )) s"
else
    echo "debootstrap: cached root from $(date -r "$base/.snapwire-base" '+%F %T')"
fi
rm -rf "$run"
cp -a "$base" "$run"
rm "$run/.snapwire-base"
# Its own identity, as a freshly installed machine has.
rm -f "$run/etc/machine-id" "$run/var/lib/dbus/machine-id"
systemd-machine-id-setup --root="$run" >/dev/null
echo snapwire-boot-test >"$run/etc/hostname"
mkdir -p "$run/root/debs"
cp "$app_deb" "$relay_deb" "$run/root/debs/"
ok "a fresh Debian 12 root in $run"

# The packages' dependencies, fetched into the root's apt cache before it boots,
# since the booted system has no network. This is the one step that runs in the
# root with the host's network, and it only talks to the Debian mirror.
fetch_log=$cache/apt-download.log
if ! systemd-nspawn --quiet --directory="$run" --register=no --keep-unit --pipe \
    --resolv-conf=copy-host --chdir=/root/debs \
    sh -c 'apt-get update -qq && apt-get install -y -qq --download-only --no-install-recommends ./*.deb' \
    </dev/null >"$fetch_log" 2>&1; then
    if grep -qiE 'Failed to fetch|Could not resolve|Temporary failure|Unable to connect|Connection (failed|timed out)' "$fetch_log"; then
        fail "fetching the packages' dependencies from $mirror: $(tail -n 5 "$fetch_log")"
    fi
    phase=packages
    fail "apt cannot resolve the packages' dependencies on Debian 12: $(tail -n 10 "$fetch_log")"
fi
ok "apt resolved and fetched the packages' dependencies ($(ls "$run/var/cache/apt/archives/"*.deb 2>/dev/null | wc -l) debs)"

boot
[ "$(in_box_net ip -o link | grep -vc ': lo:')" = 0 ] || fail "the container has a network besides loopback"
ok "booted systemd $(in_box systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') as PID 1 ($(in_box systemd-detect-virt)), loopback only"

# --- 2. ours: install, configure, enable ---------------------------------------
phase=packages
cd_debs() { in_box sh -c "cd /root/debs && $1"; }
cd_debs "DEBIAN_FRONTEND=noninteractive apt install -y --no-install-recommends ./$(basename "$app_deb") ./$(basename "$relay_deb")" \
    >"$cache/apt-install.log" 2>&1 || fail "apt install of the packages: $(tail -n 15 "$cache/apt-install.log")"
for pkg in snapwire snapwire-relay; do
    in_box dpkg-query -W -f='${Status}' "$pkg" | grep 'install ok installed' >/dev/null || fail "$pkg is not installed"
done
ok "apt install ./$(basename "$app_deb") ./$(basename "$relay_deb")"
[ "$(in_box systemctl is-enabled snapwire-relay 2>/dev/null || true)" = disabled ] || fail "the package enabled the relay by itself"
[ "$(in_box systemctl is-active snapwire-relay 2>/dev/null || true)" = inactive ] || fail "the package started the relay by itself"
ok "the relay is installed, not enabled and not running"

# The operator's `sudoedit /etc/default/snapwire-relay`: this computer only, no mDNS.
in_box sed -i -e "s|^#SNAPWIRE_LISTEN=.*|SNAPWIRE_LISTEN=127.0.0.1:$port|" \
    -e 's|^#SNAPWIRE_NO_MDNS=true$|SNAPWIRE_NO_MDNS=true|' /etc/default/snapwire-relay
in_box grep -qx "SNAPWIRE_LISTEN=127.0.0.1:$port" /etc/default/snapwire-relay \
    && in_box grep -qx 'SNAPWIRE_NO_MDNS=true' /etc/default/snapwire-relay \
    || fail "/etc/default/snapwire-relay has no '#SNAPWIRE_LISTEN=' and '#SNAPWIRE_NO_MDNS=true' lines to set"

in_box systemctl enable --now snapwire-relay >"$cache/enable.log" 2>&1 \
    || fail "systemctl enable --now snapwire-relay: $(cat "$cache/enable.log"; in_box journalctl -u snapwire-relay --no-pager -n 20)"

healthz() {
    in_box_net python3 - "$port" <<'EOF'
import json, sys, time, urllib.request
# The unit is Type=exec: active once started, listening a moment later.
deadline = time.monotonic() + 30
while True:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5) as r:
            h = json.load(r)
        break
    except OSError as e:
        if time.monotonic() > deadline:
            sys.exit("no answer on /healthz: %s" % e)
        time.sleep(0.2)
assert h["status"] == "ok", h
EOF
}
check_service() {
    local when=$1
    [ "$(in_box systemctl is-active snapwire-relay || true)" = active ] \
        || fail "snapwire-relay is not active $when: $(in_box journalctl -u snapwire-relay -b --no-pager -n 20)"
    healthz || fail "/healthz $when: $(in_box journalctl -u snapwire-relay -b --no-pager -n 20)"
    # Its sockets: one TCP listener on 127.0.0.1:$port, and no UDP (mDNS is port 5353).
    local tcp udp
    tcp=$(in_box_net ss -Hltnp | { grep '"snapwire-relay"' || true; } | awk '{ print $4 }' | sort -u | tr '\n' ' ')
    udp=$(in_box_net ss -Hulnp | grep -c '"snapwire-relay"' || true)
    [ "$tcp" = "127.0.0.1:$port " ] || fail "the relay listens on '$tcp' $when, not 127.0.0.1:$port only"
    [ "$udp" = 0 ] || fail "the relay has UDP sockets $when (mDNS should be off): $(in_box_net ss -Hulnp)"
    in_box journalctl -u snapwire-relay -b --no-pager -o cat | grep "listening on ws://127.0.0.1:$port/ws" >/dev/null \
        || fail "the journal of this boot lacks the relay's 'listening on' line"
    local pid uid
    pid=$(in_box systemctl show -P MainPID snapwire-relay)
    uid=$(in_box awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
    [ -n "$uid" ] && [ "$uid" != 0 ] || fail "the relay runs as uid '$uid' $when"
    ok "snapwire-relay active $when, as dynamic uid $uid, listening on 127.0.0.1:$port only, no UDP (mDNS off), /healthz ok"
}
check_service "after systemctl enable --now"

# --- 3. history in the state directory -----------------------------------------
probe() { in_box_net python3 "$repo/assets/packaging/relay_probe.py" "$port" "$@"; }
picture=$repo/assets/icons/snapwire-48.png
text="kept across a reboot $(date +%s%N)"
probe send "$text" || fail "sending a text to the service"
probe send-image "$picture" || fail "sending a picture to the service"
in_box test -d /var/lib/private/snapwire-relay/rooms || fail "no history in /var/lib/private/snapwire-relay"
[ "$(in_box readlink /var/lib/snapwire-relay)" = private/snapwire-relay ] \
    || fail "/var/lib/snapwire-relay is not systemd's link to the private state directory"
files=$(in_box find /var/lib/private/snapwire-relay -type f | wc -l)
ok "a text and a picture are acked and kept in /var/lib/private/snapwire-relay ($files files)"

# --- 4. reboot --------------------------------------------------------------------
in_box systemctl reboot || fail "systemctl reboot"
rc=0
wait_nspawn 90 || rc=$?
[ "$rc" = 133 ] || fail "the container did not reboot cleanly (systemd-nspawn exit $rc, 133 is a reboot): $(tail -n 20 "$cache/nspawn-$boot_count.log")"
boot
[ "$(in_box systemctl is-enabled snapwire-relay)" = enabled ] || fail "snapwire-relay is not enabled after the reboot"
[ "$(in_box systemctl show -P NRestarts snapwire-relay)" = 0 ] || fail "the relay needed restarts to come up after the reboot"
check_service "after the reboot, by itself"
probe replay "$text" --since 0 --image "$picture" || fail "the history after the reboot"
boots=$(in_box journalctl --list-boots --no-pager | grep -cE '^ *-?[0-9]+ ')
ok "after the reboot the relay serves the text and the picture, byte for byte (since 0; journal: $boots boots)"

# --- 5. upgrade: the same package as a newer version -----------------------------------
version=$(dpkg-deb -f "$relay_deb" Version)
up=$cache/upgrade
rm -rf "$up"
mkdir -p "$up"
dpkg-deb -R "$relay_deb" "$up/root" || fail "unpacking $relay_deb"
sed -i "s/^Version: .*/Version: ${version}+boot1/" "$up/root/DEBIAN/control"
dpkg-deb --build --root-owner-group "$up/root" "$run/root/debs/snapwire-relay_${version}+boot1_upgrade.deb" >/dev/null \
    || fail "building the upgrade package"
rm -rf "$up"
pid_before=$(in_box systemctl show -P MainPID snapwire-relay)
cd_debs "DEBIAN_FRONTEND=noninteractive apt install -y ./snapwire-relay_${version}+boot1_upgrade.deb" \
    >"$cache/apt-upgrade.log" 2>&1 || fail "apt install of a newer snapwire-relay: $(tail -n 15 "$cache/apt-upgrade.log")"
[ "$(in_box dpkg-query -W -f='${Version}' snapwire-relay)" = "${version}+boot1" ] || fail "the upgrade was not applied"
pid_after=$(in_box systemctl show -P MainPID snapwire-relay)
[ "$pid_after" != "$pid_before" ] && [ "$pid_after" != 0 ] \
    || fail "the upgrade did not restart the running relay (MainPID $pid_before, then $pid_after)"
[ "$(in_box systemctl is-enabled snapwire-relay)" = enabled ] || fail "the upgrade disabled the relay"
check_service "after the upgrade"
probe replay "$text" --since 0 --image "$picture" || fail "the history after the upgrade"
ok "apt install of ${version}+boot1 restarts the running relay (pid $pid_before, then $pid_after), still enabled, same history"

# --- 6. the app in the menu ----------------------------------------------------------
in_box desktop-file-validate /usr/share/applications/snapwire.desktop || fail "desktop-file-validate"
for mime in image/png image/jpeg image/gif image/webp image/bmp; do
    in_box grep -q "^$mime=.*snapwire.desktop" /usr/share/applications/mimeinfo.cache \
        || fail "mimeinfo.cache does not offer snapwire.desktop for $mime"
    default=$(in_box xdg-mime query default "$mime" || true)
    [ "$default" = snapwire.desktop ] || fail "xdg-mime query default $mime is '$default', not snapwire.desktop"
done
ok "the menu entry validates; for PNG, JPEG, GIF, WebP and BMP mimeinfo.cache lists it and xdg-mime opens them with it"
in_box grep -qx 'Exec=snapwire %F' /usr/share/applications/snapwire.desktop || fail "the entry's Exec= is not 'snapwire %F'"
# A file manager's double-click: GIO finds the file's type, then its default
# application, which it runs as Exec= says (snapwire FILE).
cp "$repo/assets/snapwire-256.png" "$run/root/holiday.png"
type=$(in_box gio info -a standard::content-type /root/holiday.png | sed -n 's/.*standard::content-type: //p')
[ "$type" = image/png ] || fail "GIO sees /root/holiday.png as '$type'"
for mime in image/png image/jpeg image/gif image/webp image/bmp; do
    answer=$(in_box gio mime "$mime" || true)
    grep -q "^Default application for .*: snapwire.desktop\$" <<<"$answer" \
        || fail "GIO's default application for $mime is not snapwire.desktop: $answer"
done
ok "GIO (file managers) opens PNG, JPEG, GIF, WebP and BMP files with snapwire.desktop, Exec=snapwire %F"
for size in 16 22 24 32 48 64 128 256 512; do
    in_box test -s "/usr/share/icons/hicolor/${size}x${size}/apps/snapwire.png" \
        || fail "no ${size}x${size} icon in hicolor"
done
ok "icons in hicolor, 16 to 512 px"
# The libraries the app opens at run time (dlopen, so not in its ELF needs):
# its Depends must have brought every one onto a fresh system.
for lib in libxkbcommon.so.0 libxkbcommon-x11.so.0 libX11.so.6 libX11-xcb.so.1 libxcb.so.1 \
           libXcursor.so.1 libXi.so.6 libwayland-client.so.0 libwayland-egl.so.1 libEGL.so.1 \
           libfontconfig.so.1 libdbus-1.so.3; do
    in_box ldconfig -p | awk -v lib="$lib" '$1 == lib { found = 1 } END { exit !found }' || fail "$lib is not on the fresh system: the app could not open a window"
done
in_box snapwire --version >/dev/null || fail "snapwire --version in the booted system"
ok "snapwire runs, and every library it opens at run time came with its dependencies"

# --- 7. remove and purge: the policy README states -------------------------------------
in_box env DEBIAN_FRONTEND=noninteractive apt remove -y snapwire snapwire-relay >"$cache/apt-remove.log" 2>&1 \
    || fail "apt remove: $(tail -n 15 "$cache/apt-remove.log")"
state=$(in_box systemctl is-active snapwire-relay || true)
[ "$state" = inactive ] || fail "the relay is '$state' after apt remove, not stopped"
for f in /usr/bin/snapwire /usr/bin/snapwire-relay /usr/lib/systemd/system/snapwire-relay.service \
         /usr/share/applications/snapwire.desktop; do
    ! in_box test -e "$f" || fail "$f is left after apt remove"
done
! in_box grep -q snapwire.desktop /usr/share/applications/mimeinfo.cache || fail "mimeinfo.cache still offers Snapwire after apt remove"
in_box test -f /etc/default/snapwire-relay || fail "apt remove deleted the settings (they stay until purge)"
in_box test -d /var/lib/private/snapwire-relay/rooms || fail "apt remove deleted the history"
ok "apt remove stops the relay, takes programs, unit and menu entry away, keeps settings and history"

# apt no longer knows a removed local package (its settings are all that is
# left), so its purge is dpkg's; `apt purge` of an installed one does both steps.
in_box dpkg --purge snapwire-relay >"$cache/purge.log" 2>&1 \
    || fail "dpkg --purge snapwire-relay: $(tail -n 15 "$cache/purge.log")"
for f in /etc/default/snapwire-relay /etc/systemd/system/multi-user.target.wants/snapwire-relay.service; do
    ! in_box test -e "$f" && ! in_box test -L "$f" || fail "$f is left after the purge"
done
in_box test -d /var/lib/private/snapwire-relay/rooms || fail "the purge deleted the history (README says it keeps it)"
files_left=$(in_box find /var/lib/private/snapwire-relay -type f | wc -l)
ok "dpkg --purge removes the settings and the boot-time enablement, keeps the history ($files_left files in /var/lib/private/snapwire-relay)"

in_box systemctl poweroff || fail "systemctl poweroff"
rc=0
wait_nspawn 90 || rc=$?
[ "$rc" = 0 ] || fail "the container did not power off cleanly (systemd-nspawn exit $rc)"
ok "powered off"
echo "boot test: $passed passed, 0 failed ($(elapsed))"
