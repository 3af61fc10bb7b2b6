#!/usr/bin/env bash
# Writes the hicolor icon sizes the packages install, from the 1024 px icon:
#   bash assets/packaging/make-icons.sh
# The PNGs are committed (building a package needs no ImageMagick); run this again
# after assets/snapwire-1024.png changes. 256 px is assets/snapwire-256.png itself,
# drawn by the app's code at that size.
set -euo pipefail
cd "$(dirname "$0")/.."
# ImageMagick's own convert (a wrapper elsewhere on PATH may stand in for it).
convert=/usr/bin/convert
[ -x "$convert" ] || convert=convert
mkdir -p icons
for size in 16 22 24 32 48 64 128 512; do
    # -strip and no time chunks: the same input gives the same bytes.
    "$convert" snapwire-1024.png -filter Lanczos -resize "${size}x${size}" -strip \
        -define png:exclude-chunks=date,time "PNG32:icons/snapwire-${size}.png"
done
