"""The self-test, the bundle filter, and the Linux packages built from a checkout.

The tests marked ``slow`` run scripts/build_installer.sh once into a
temporary folder (PyInstaller, then gzip for the .deb to save time). They
check that the bundle passes its own self-test, needs no system library
outside the .deb's Depends and leaves the unused Qt parts out, and that the
.deb installs the bundle, the launcher, the menu entry and the icons.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from app import __version__
from app.core.selftest import SelftestFailed, SelftestShop, run_selftest
from app.ui.diagnostics import SHOWN_MARKER
from installer.bundle_filter import keep_binary, keep_data
from installer.linux_packages import SYSTEM_LIBRARIES, depends

REPO = Path(__file__).resolve().parents[1]
#: The packages the window and the self-test need on a bare Debian/Ubuntu.
REQUIRED_DEPENDS = (
    "libgl1",
    "libegl1",
    "libfontconfig1",
    "fonts-dejavu-core",
    "libzbar0",
    "libxcb1",
)
DEB_LIMIT_BYTES = 120_000_000


def private_env(home: Path) -> dict[str, str]:
    """Return an environment with no display and data, logs, settings in ``home``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        env[name] = str(home / name.lower())
    return env


# --- the self-test in the development environment -------------------------


def test_selftest_command_passes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "selftest", "--json"],
        cwd=REPO,
        env=private_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert [s["name"] for s in report["steps"]] == [
        "shop",
        "order",
        "shipment",
        "ledger",
        "label",
        "window",
    ]
    assert report["versions"].startswith(f"Backroom {__version__}, Python ")
    label = next(s for s in report["steps"] if s["name"] == "label")
    assert label["detail"].endswith("Code128 reads SELFTEST-0001-GB")
    window = next(s for s in report["steps"] if s["name"] == "window")
    assert "offscreen platform" in window["detail"]
    assert not (tmp_path / "xdg_data_home" / "Backroom" / "backups").exists()


def test_selftest_prints_one_line_of_versions(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "selftest", "--no-window"],
        cwd=REPO,
        env=private_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"Backroom {__version__}, Python ")


def test_open_exit_after_show_prints_marker(tmp_path: Path) -> None:
    env = private_env(tmp_path)
    env["QT_QPA_PLATFORM"] = "offscreen"
    shop = tmp_path / "shop.sqlite"
    backroom = [sys.executable, "-m", "app"]
    subprocess.run(
        [*backroom, "init", "--db", str(shop), "--name", "Corner Shop"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )

    result = subprocess.run(
        [*backroom, "open", "--db", str(shop), "--exit-after-show"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [SHOWN_MARKER]


def test_selftest_reports_failed_step_and_goes_on(tmp_path: Path) -> None:
    def broken(_state: SelftestShop) -> str:
        raise SelftestFailed("the printer is on fire")

    report = run_selftest(tmp_path, extra_steps=[("printer", broken)])

    assert not report.ok
    assert [s.name for s in report.failed] == ["printer"]
    assert report.failed[0].detail == "the printer is on fire"
    assert [s.ok for s in report.steps] == [True, True, True, True, True, False]


def test_selftest_skips_steps_after_failed_shop(tmp_path: Path) -> None:
    # A file where the database should go makes the shop step fail.
    (tmp_path / "selftest.sqlite").mkdir()

    report = run_selftest(tmp_path)

    failed = {s.name: s.detail for s in report.failed}
    assert list(failed) == ["shop", "order", "shipment", "ledger"]
    assert failed["order"] == "skipped: the shop step failed"
    assert report.steps[-1].name == "label"
    assert report.steps[-1].ok


# --- what the bundle keeps ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqtiff.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        (
            "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
            False,
        ),
        (
            "PySide6/Qt/plugins/platforminputcontexts/"
            "libibusplatforminputcontextplugin.so",
            True,
        ),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", False),
        ("PySide6/Qt/lib/libQt6Quick.so.6", False),
        ("PySide6/Qt/lib/libQt6Qml.so.6", False),
        ("PySide6/Qt/lib/libQt6WebEngineCore.so.6", False),
        ("PySide6/Qt/lib/libQt6Charts.so.6", True),
        ("PySide6/Qt/lib/libQt6Widgets.so.6", True),
        ("PySide6\\plugins\\platforms\\qwindows.dll", True),
        ("PySide6\\plugins\\platforms\\qdirect2d.dll", False),
        ("PySide6\\Qt6Quick.dll", False),
        ("PySide6/Qt/lib/QtQml.framework/Versions/A/QtQml", False),
        ("PySide6/Qt/plugins/platforms/libqcocoa.dylib", True),
        ("libgtk-3.so.0", False),
        ("libzbar.so.0", True),
    ],
)
def test_bundle_filter_binaries(name: str, kept: bool) -> None:
    assert keep_binary(name) is kept


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6\\translations\\qtbase_de.qm", False),
        ("pycountry/locales/de/LC_MESSAGES/iso3166-1.mo", False),
        ("pycountry/databases/iso3166-1.json", True),
        ("babel/locale-data/de_DE.dat", True),
        ("reportlab/fonts/Vera.ttf", True),
        ("somepackage/tests/data.json", False),
        ("resources/icons/backroom.svg", True),
        ("resources/icons/backroom.icns", False),
        ("app/migrations/versions/0001_initial.py", True),
    ],
)
def test_bundle_filter_data(name: str, kept: bool) -> None:
    assert keep_data(name) is kept


def test_depends_names_required_packages() -> None:
    field = depends("2.36")
    names = [part.split(" ")[0] for part in field.split(", ")]
    assert field.startswith("libc6 (>= 2.36), ")
    for package in REQUIRED_DEPENDS:
        assert package in names, package
    assert len(names) == len(set(names))


def test_desktop_entry_starts_backroom() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(REPO / "installer" / "linux" / "backroom.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] == "backroom"
    assert section["Icon"] == "backroom"
    assert section["Terminal"] == "false"
    assert section["Categories"].endswith(";")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_icon_png_sizes(size: int) -> None:
    path = REPO / "resources" / "icons" / f"backroom-{size}.png"
    assert png_size(path) == (size, size)


# --- the built packages (slow) --------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run scripts/build_installer.sh --fast into a private dist folder."""
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed; apt install dpkg")
    out = tmp_path_factory.mktemp("installer")
    env = dict(os.environ, DIST=str(out / "dist"), BUILD=str(out / "build"))
    result = subprocess.run(
        [str(REPO / "scripts" / "build_installer.sh"), "--fast"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "dist"


def run_selftest_in(executable: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(executable), "selftest"],
        env=private_env(home),
        capture_output=True,
        text=True,
        timeout=240,
    )


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


@pytest.mark.slow
def test_bundle_selftest_passes(built: Path, tmp_path: Path) -> None:
    result = run_selftest_in(built / "backroom" / "backroom", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Backroom {__version__}, Python ")
    assert result.stdout.count("\n") == 1


@pytest.mark.slow
def test_bundle_needs_only_declared_libraries(built: Path) -> None:
    internal = built / "backroom" / "_internal"
    env = dict(
        os.environ,
        LD_LIBRARY_PATH=f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}",
    )
    undeclared: dict[str, set[str]] = {}
    for path in elf_files(built / "backroom"):
        result = subprocess.run(
            ["ldd", str(path)], env=env, capture_output=True, text=True
        )
        for line in result.stdout.splitlines():
            name, _, where = line.strip().partition(" => ")
            if not where or where.startswith(str(built)):
                continue
            if name not in SYSTEM_LIBRARIES:
                undeclared.setdefault(name, set()).add(path.name)
    assert undeclared == {}


@pytest.mark.slow
def test_bundle_leaves_out_unused_qt(built: Path) -> None:
    qt = built / "backroom" / "_internal" / "PySide6" / "Qt"
    libraries = {p.name for p in (qt / "lib").iterdir()}
    assert "libQt6Widgets.so.6" in libraries
    assert "libQt6Charts.so.6" in libraries
    assert not {n for n in libraries if n.startswith(("libQt6Quick", "libQt6Qml"))}
    assert not {n for n in libraries if "WebEngine" in n}
    assert not (qt / "translations").exists()
    plugins = {p.name for p in (qt / "plugins").iterdir()}
    assert plugins >= {"platforms", "imageformats", "iconengines"}
    assert "generic" not in plugins


@pytest.mark.slow
def test_bundle_carries_migrations_and_resources(built: Path) -> None:
    internal = built / "backroom" / "_internal"
    migrations = internal / "app" / "migrations"
    assert (migrations / "env.py").exists()
    assert (migrations / "script.py.mako").exists()
    assert list((migrations / "versions").glob("0001_*.py"))
    assert (internal / "resources" / "icons" / "backroom.svg").exists()
    assert (internal / "resources" / "style" / "backroom.qss").exists()


@pytest.mark.slow
def test_deb_control_and_layout(built: Path) -> None:
    deb = next(built.glob(f"backroom_{__version__}_*.deb"))
    assert deb.stat().st_size < DEB_LIMIT_BYTES

    def field(name: str) -> str:
        result = subprocess.run(
            ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True
        )
        return result.stdout.strip()

    assert field("Package") == "backroom"
    assert field("Version") == __version__
    packages = [p.split(" ")[0] for p in field("Depends").split(", ")]
    for package in REQUIRED_DEPENDS:
        assert package in packages, package
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    owners = {line.split()[1] for line in listing.splitlines()}
    assert owners == {"root/root"}
    names = {line.split()[-1] for line in listing.splitlines()}
    for expected in (
        "./opt/backroom/backroom",
        "./usr/bin/backroom",
        "./usr/share/applications/backroom.desktop",
        "./usr/share/icons/hicolor/scalable/apps/backroom.svg",
        "./usr/share/icons/hicolor/256x256/apps/backroom.png",
    ):
        assert expected in names, expected


@pytest.mark.slow
def test_deb_contents_pass_selftest(built: Path, tmp_path: Path) -> None:
    deb = next(built.glob(f"backroom_{__version__}_*.deb"))
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    launcher = (root / "usr" / "bin" / "backroom").read_text()
    assert "exec /opt/backroom/backroom" in launcher
    result = run_selftest_in(root / "opt" / "backroom" / "backroom", tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_tarball_holds_bundle(built: Path) -> None:
    tarball = next(built.glob(f"backroom-{__version__}-linux-*.tar.gz"))
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert "backroom/backroom" in names
    assert "backroom/_internal/app/migrations/env.py" in names
