#!/usr/bin/env bash
# Installs the packages from build-packages.sh on this machine, checks that they
# put every file where the desktop and systemd look for it, runs the installed
# relay, upgrades, removes and purges them, and checks that the relay's history
# survives all of it. Run as root on a Debian machine (CI does):
#
#   bash assets/packaging/check-packages.sh
#
# No systemd runs here, so the service itself is not started: the unit is
# checked with `systemd-analyze verify` and the relay is run by hand from
# /usr/bin with the unit's environment, on 127.0.0.1 with --no-mdns.
# boot-test.sh runs the service itself, under systemd on a fresh Debian it boots.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
state=/var/lib/snapwire-relay
marker=$state/.package-test
work=$(mktemp -d)
passed=0

fail() {
    echo "FAIL: $*" >&2
    echo "packages: $passed passed, 1 failed"
    exit 1
}
ok() {
    passed=$((passed + 1))
    echo "ok: $*"
}

[ "$(id -u)" = 0 ] || fail "must run as root (it installs packages)"
app_deb=$(ls -t "$target"/debian/snapwire_*.deb 2>/dev/null | head -n1)
relay_deb=$(ls -t "$target"/debian/snapwire-relay_*.deb 2>/dev/null | head -n1)
[ -n "$app_deb" ] && [ -n "$relay_deb" ] || fail "no packages in $target/debian: run build-packages.sh"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# Never touch a real installation or a real relay's history.
for pkg in snapwire snapwire-relay; do
    if installed "$pkg"; then fail "$pkg is installed on this machine; remove it first"; fi
done
if { [ -e "$state" ] || [ -e /var/lib/private/snapwire-relay ]; } && [ ! -e "$marker" ]; then
    fail "$state exists and is not this test's: not touching it"
fi

relay_pid=
cleanup() {
    if [ -n "$relay_pid" ]; then kill "$relay_pid" 2>/dev/null || true; fi
    dpkg --purge snapwire snapwire-relay >/dev/null 2>&1 || true
    # Only the history this test made.
    if [ -e "$marker" ]; then rm -rf "$state"; fi
    rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$state"
# The history directory is made now, marked as this test's, so that cleanup
# (and a later run after a crash) knows it may delete it.
mkdir -p "$state"
touch "$marker"

install_debs() {
    # dpkg -i leaves missing dependencies unconfigured; apt then brings them.
    if ! dpkg -i "$@"; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -f -y --no-install-recommends
    fi
}

# --- install ---------------------------------------------------------------
install_debs "$app_deb" "$relay_deb"
installed snapwire && installed snapwire-relay || fail "packages did not install"
ok "dpkg -i $(basename "$app_deb") $(basename "$relay_deb")"

for f in /usr/bin/snapwire /usr/bin/snapwire-relay \
         /usr/share/applications/snapwire.desktop \
         /usr/lib/systemd/system/snapwire-relay.service /etc/default/snapwire-relay \
         /usr/share/man/man1/snapwire.1.gz /usr/share/man/man1/snapwire-relay.1.gz \
         /usr/share/doc/snapwire/copyright /usr/share/doc/snapwire-relay/copyright; do
    [ -f "$f" ] || fail "$f is missing"
done
ok "binaries, desktop entry, unit, settings, man pages and copyright files in place"

for size in 16 22 24 32 48 64 128 256 512; do
    icon=/usr/share/icons/hicolor/${size}x${size}/apps/snapwire.png
    [ -f "$icon" ] || fail "$icon is missing"
    # The PNG's own header says its size (bytes 16-23 of the IHDR chunk).
    dims=$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); assert d[:8]==b"\x89PNG\r\n\x1a\n"; print("%dx%d" % struct.unpack(">II", d[16:24]))' "$icon")
    [ "$dims" = "${size}x${size}" ] || fail "$icon is $dims"
done
ok "hicolor icons 16-512 px, each the size its directory says"

desktop-file-validate /usr/share/applications/snapwire.desktop || fail "desktop-file-validate"
ok "desktop-file-validate"
# desktop-file-utils' trigger indexes MimeType=: this is what "Open with" reads.
for mime in image/png image/jpeg image/gif image/webp image/bmp; do
    grep -q "^$mime=.*snapwire.desktop" /usr/share/applications/mimeinfo.cache \
        || fail "mimeinfo.cache does not offer snapwire.desktop for $mime"
done
ok "file managers offer Snapwire for PNG, JPEG, GIF, WebP and BMP"

if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify --man=no /usr/lib/systemd/system/snapwire-relay.service \
        || fail "systemd-analyze verify"
    ok "systemd-analyze verify snapwire-relay.service"
else
    echo "skip: systemd-analyze is not installed"
fi
unit=/usr/lib/systemd/system/snapwire-relay.service
for line in DynamicUser=yes StateDirectory=snapwire-relay ProtectSystem=strict \
            NoNewPrivileges=yes Restart=on-failure EnvironmentFile=-/etc/default/snapwire-relay; do
    grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
[ "$(stat -c '%a %U' /etc/default/snapwire-relay)" = "600 root" ] \
    || fail "/etc/default/snapwire-relay must be 600 root (it may hold the token)"
# Installed but not enabled: the operator types `systemctl enable --now`.
wants=/etc/systemd/system/multi-user.target.wants/snapwire-relay.service
[ ! -e "$wants" ] || fail "the package enabled the service by itself"
if command -v systemctl >/dev/null 2>&1; then
    systemctl enable snapwire-relay >/dev/null 2>&1 || fail "systemctl enable snapwire-relay"
    [ -L "$wants" ] || fail "systemctl enable did not link the unit into multi-user.target"
    systemctl disable snapwire-relay >/dev/null 2>&1 || fail "systemctl disable snapwire-relay"
    ok "unit hardened, not enabled by the package, and enable links it for every boot"
else
    ok "unit hardened and not enabled by the package (no systemctl to try enable)"
fi

for page in snapwire snapwire-relay; do
    zcat "/usr/share/man/man1/$page.1.gz" | grep -q '^\.TH' || fail "$page.1.gz is not a man page"
done
zcat /usr/share/man/man1/snapwire-relay.1.gz | grep -q 'no\\-mdns' || fail "the relay's man page lacks --no-mdns"
zcat /usr/share/man/man1/snapwire.1.gz | grep -q 'SNAPWIRE_HOME' || fail "the app's man page lacks SNAPWIRE_HOME"
ok "man pages"

# --- run the installed binaries ---------------------------------------------
version=$(dpkg-query -W -f='${Version}' snapwire-relay)
/usr/bin/snapwire-relay --help >"$work/help" || fail "snapwire-relay --help"
grep -q -- '--no-mdns' "$work/help" || fail "snapwire-relay --help lacks --no-mdns"
/usr/bin/snapwire-relay --version | grep -qF "${version%-*}" || fail "snapwire-relay --version is not $version"
/usr/bin/snapwire --help >/dev/null || fail "snapwire --help"
/usr/bin/snapwire --version | grep -qF "${version%-*}" || fail "snapwire --version is not $version"
ok "snapwire-relay --help, snapwire --help and --version ($version)"

# Every SNAPWIRE_* setting the relay reads is in the settings file, commented.
for var in $(grep -o 'SNAPWIRE_[A-Z_]*' "$work/help" | sort -u); do
    [ "$var" = SNAPWIRE_DATA_DIR ] && continue  # set by the unit: the state directory
    grep -q "^#$var=" /etc/default/snapwire-relay || fail "/etc/default/snapwire-relay lacks $var"
done
ok "/etc/default/snapwire-relay lists every SNAPWIRE_* setting of --help"

# The relay with the environment the unit gives it: the settings file, then
# SNAPWIRE_DATA_DIR from Environment= (%S is /var/lib for a system service).
data_dir=$(sed -n 's/^Environment=SNAPWIRE_DATA_DIR=//p' "$unit" | sed 's|%S|/var/lib|')
[ "$data_dir" = "$state" ] || fail "the unit's SNAPWIRE_DATA_DIR is '$data_dir', not $state"
start_relay() {
    mkfifo "$work/out"
    # shellcheck disable=SC2046  # the settings file is VAR=value lines
    env -i PATH=/usr/bin:/bin $(grep -E '^[A-Z_]+=' /etc/default/snapwire-relay || true) \
        SNAPWIRE_DATA_DIR="$data_dir" \
        /usr/bin/snapwire-relay --listen 127.0.0.1:0 --no-mdns >"$work/out" 2>"$work/relay.log" &
    relay_pid=$!
    exec 3<"$work/out"
    rm "$work/out"
    local line
    read -r -t 30 -u 3 line || fail "the installed relay did not start: $(cat "$work/relay.log")"
    port=$(sed -n 's|.*listening on ws://127\.0\.0\.1:\([0-9]*\)/ws.*|\1|p' <<<"$line")
    [ -n "$port" ] || fail "unexpected first line from the relay: $line"
}
stop_relay() {
    kill -TERM "$relay_pid"
    local rc=0
    wait "$relay_pid" || rc=$?
    relay_pid=
    exec 3<&-
    [ "$rc" = 0 ] || fail "the relay exited $rc on SIGTERM: $(cat "$work/relay.log")"
}
healthz() {
    python3 -c 'import json,sys,urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=10) as r:
    h = json.load(r)
assert h["status"] == "ok", h
print(h)' "$port"
}

start_relay
healthz >/dev/null || fail "/healthz of the installed relay"
probe="sent before the upgrade $(date +%s%N)"
python3 assets/packaging/relay_probe.py "$port" send "$probe" || fail "sending a text to the installed relay"
stop_relay
[ -d "$state/rooms" ] || fail "no history in $state"
ok "installed relay on 127.0.0.1:$port: /healthz answers, a text is acked and kept in $state, SIGTERM exits 0"

# --- upgrade: the same package as revision +1 -------------------------------
dpkg-deb -R "$relay_deb" "$work/up"
sed -i "s/^Version: .*/Version: ${version}+check1/" "$work/up/DEBIAN/control"
dpkg-deb --build --root-owner-group "$work/up" "$work/relay-upgrade.deb" >/dev/null
rm -rf "$work/up"
dpkg -i "$work/relay-upgrade.deb" >/dev/null || fail "upgrading snapwire-relay"
[ "$(dpkg-query -W -f='${Version}' snapwire-relay)" = "${version}+check1" ] || fail "upgrade not applied"
start_relay
python3 assets/packaging/relay_probe.py "$port" replay "$probe" || fail "history after the upgrade"
stop_relay
ok "upgrade to ${version}+check1 keeps the history"

# --- remove, install again, purge --------------------------------------------
dpkg --remove snapwire snapwire-relay >/dev/null || fail "dpkg --remove"
for f in /usr/bin/snapwire /usr/bin/snapwire-relay /usr/share/applications/snapwire.desktop \
         /usr/lib/systemd/system/snapwire-relay.service /usr/share/icons/hicolor/48x48/apps/snapwire.png; do
    [ ! -e "$f" ] || fail "$f is left after dpkg --remove"
done
grep -q "snapwire.desktop" /usr/share/applications/mimeinfo.cache 2>/dev/null \
    && fail "mimeinfo.cache still offers Snapwire after removal"
[ -f /etc/default/snapwire-relay ] || fail "dpkg --remove deleted the settings (a conffile stays until purge)"
[ -d "$state/rooms" ] || fail "dpkg --remove deleted the history"
ok "dpkg --remove takes the files away and keeps settings and history"

install_debs "$app_deb" "$relay_deb" >/dev/null
start_relay
python3 assets/packaging/relay_probe.py "$port" replay "$probe" || fail "history after remove and install"
stop_relay
ok "installing again finds the history"

dpkg --purge snapwire snapwire-relay >/dev/null || fail "dpkg --purge"
[ ! -e /etc/default/snapwire-relay ] || fail "dpkg --purge left /etc/default/snapwire-relay"
[ -d "$state/rooms" ] || fail "dpkg --purge deleted the history"
ok "dpkg --purge removes the settings and still keeps the history in $state"

echo "packages: $passed passed, 0 failed"
