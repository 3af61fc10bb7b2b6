#!/usr/bin/env bash
# Builds the two Debian packages into target/debian/:
#   snapwire_<version>-1_<arch>.deb        the app, its menu entry, icons and man page
#   snapwire-relay_<version>-1_<arch>.deb  the relay and its systemd service
# (and a -dbgsym .ddeb for each: the debug symbols the packaged binaries are stripped of).
#
#   bash assets/packaging/build-packages.sh
#
# Needs cargo-deb (`cargo install cargo-deb --locked`) and help2man (apt).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}

for tool in cargo-deb help2man; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-packages: $tool is missing (cargo install cargo-deb --locked; apt-get install help2man)" >&2
        exit 1
    fi
done

cargo build --release --locked -p snapwire -p snapwire-relay

# The man pages are the binaries' own --help (so they never disagree) plus the
# sections in assets/packaging/*.h2m. The date is the last commit's, so a
# rebuild of the same commit gives the same page.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
# The manifests name target/man/ inside the source tree, whatever CARGO_TARGET_DIR is.
mkdir -p target/man
for bin in snapwire snapwire-relay; do
    help2man --no-info --section=1 --include="assets/packaging/$bin.h2m" \
        --output="target/man/$bin.1" "$target/release/$bin"
done

# --no-build: the binaries above are the ones packaged. --dbgsym: the package's
# binaries are stripped, their line tables go to the -dbgsym package.
for pkg in snapwire snapwire-relay; do
    cargo deb --locked -p "$pkg" --no-build --dbgsym
done
ls -l "$target"/debian/*.deb
