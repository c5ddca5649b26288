#!/usr/bin/env bash
# Install the Debian packages Backroom needs: "app" for running the desktop
# app, "test" for the test suite (adds PostgreSQL, barcode and PDF tools,
# hledger). Skips what is already installed; needs root or sudo for apt.
set -euo pipefail

APP_PACKAGES=(libglib2.0-0 libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1
  libfreetype6 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 fonts-dejavu-core)
TEST_PACKAGES=(postgresql libzbar0 zbar-tools poppler-utils hledger xvfb xauth)

wanted=("${APP_PACKAGES[@]}")
if [[ "${1:-app}" == "test" ]]; then
  wanted+=("${TEST_PACKAGES[@]}")
fi

missing=()
for pkg in "${wanted[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "missing Debian packages: ${missing[*]}; install them as root" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
