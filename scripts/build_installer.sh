#!/usr/bin/env bash
# Build the Linux packages from this checkout into dist/:
#   dist/backroom/                               the one-folder bundle (run dist/backroom/backroom)
#   dist/backroom-VERSION-linux-ARCH.tar.gz      the bundle, packed
#   dist/backroom_VERSION_DEBARCH.deb            /opt/backroom, /usr/bin/backroom, menu entry, icons
#
# Needs the dev extra in .venv (PyInstaller), dpkg-deb, and the X11 libraries
# that get copied into the bundle (scripts/system-deps.sh app installs them).
# Runs without root.
#
# Options:
#   --fast         compress the .deb with gzip instead of xz: about 4 times
#                  quicker and about 30% bigger (the tests use it)
#   --skip-bundle  repack an existing dist/backroom instead of running PyInstaller
# Environment: PYTHON (default .venv/bin/python), DIST (default dist),
# BUILD (default build), BACKROOM_HOMEPAGE (the .deb's Homepage field).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
DIST=${DIST:-$ROOT/dist}
BUILD=${BUILD:-$ROOT/build}
COMPRESS=(-Zxz)
BUNDLE=1
umask 022

for arg in "$@"; do
  case "$arg" in
    --fast) COMPRESS=(-Zgzip -z6) ;;
    --skip-bundle) BUNDLE=0 ;;
    *) echo "build_installer.sh: unknown option $arg (use --fast or --skip-bundle)" >&2; exit 2 ;;
  esac
done

fail() { echo "build_installer.sh: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || fail "dpkg-deb is missing; install the dpkg package"
"$PYTHON" -c "import PyInstaller" 2>/dev/null \
  || fail "PyInstaller is missing in $PYTHON; run: $PYTHON -m pip install -e '.[dev]'"

# These libraries are copied into the bundle, so they must exist here.
missing=()
for pkg in libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
  libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0 libzbar0; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] \
    || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] \
  || fail "missing Debian packages: ${missing[*]}; run scripts/system-deps.sh app as root"

VERSION=$("$PYTHON" -c "import app; print(app.__version__)")
DEB_ARCH=$(dpkg --print-architecture)
MACHINE=$(uname -m)
# The bundle carries its own Python and Qt but uses the system's C library,
# so the target needs at least the glibc it was built against.
# awk reads all of ldd's output: with pipefail, "head -n1" could kill ldd
# with SIGPIPE and fail the build at random.
GLIBC=$(ldd --version | awk 'NR == 1 { print $NF }')

if [[ $BUNDLE -eq 1 ]]; then
  echo "building the bundle with PyInstaller" >&2
  rm -rf "$DIST/backroom"
  "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$BUILD/pyinstaller" installer/backroom.spec
fi
[[ -x "$DIST/backroom/backroom" ]] || fail "$DIST/backroom/backroom is missing; build without --skip-bundle"

TARBALL="$DIST/backroom-$VERSION-linux-$MACHINE.tar.gz"
echo "packing $TARBALL" >&2
tar -C "$DIST" -czf "$TARBALL" backroom

STAGE="$BUILD/deb/backroom_${VERSION}_$DEB_ARCH"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" \
  "$STAGE/usr/share/applications" "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a "$DIST/backroom" "$STAGE/opt/backroom"
install -m 755 installer/linux/backroom.sh "$STAGE/usr/bin/backroom"
install -m 644 installer/linux/backroom.desktop "$STAGE/usr/share/applications/backroom.desktop"
install -m 644 resources/icons/backroom.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/backroom.svg"
for png in resources/icons/backroom-*.png; do
  size=${png##*-}
  size=${size%.png}
  mkdir -p "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
  install -m 644 "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/backroom.png"
done

DEPENDS=$("$PYTHON" -c "from installer.linux_packages import depends; print(depends('$GLIBC'))")
INSTALLED_SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$DEB_ARCH/" \
  -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" -e "s/@DEPENDS@/$DEPENDS/" \
  installer/linux/control.in > "$STAGE/DEBIAN/control"
if [[ -n "${BACKROOM_HOMEPAGE:-}" ]]; then
  sed -i "s|@HOMEPAGE@|$BACKROOM_HOMEPAGE|" "$STAGE/DEBIAN/control"
else
  sed -i "/@HOMEPAGE@/d" "$STAGE/DEBIAN/control"
fi

DEB="$DIST/backroom_${VERSION}_$DEB_ARCH.deb"
echo "packing $DEB" >&2
dpkg-deb --root-owner-group "${COMPRESS[@]}" --build "$STAGE" "$DEB" >/dev/null

du -sh "$DIST/backroom" "$TARBALL" "$DEB" >&2
