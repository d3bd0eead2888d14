#!/usr/bin/env bash
# Installs the Debian packages Venue Desk needs to build, run and test. Idempotent: packages that
# are already installed are skipped without touching apt. Needs root (or sudo) only when something
# is missing.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-x gstreamer1.0-plugins-base-apps gstreamer1.0-alsa
  libasound2-dev libdbus-1-dev
  webkit2gtk-driver xvfb xauth dbus-x11 fonts-noto-cjk imagemagick keyutils
  squashfs-tools fuse3 libsquashfuse-dev libfuse3-dev liblzma-dev libzstd-dev zlib1g-dev liblz4-dev liblzo2-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "bootstrap: these Debian packages are missing and this user cannot install them: ${missing[*]}" >&2
  echo "bootstrap: run 'apt-get install ${missing[*]}' as root, then try again." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
