"""A first start on a stock Debian: the packages a window needs, named before Qt aborts.

The list in console/desktop.py is held to what the pinned PySide6 links (read from its
ELF files), to the packages that own those libraries (dpkg), and to the README and
.ci/run; the console opens a real X11 window on Xvfb, not only offscreen.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from console.desktop import (
    QT_GUI,
    QT_XCB,
    Library,
    desktop_packages,
    libraries_needed,
    missing_for_desktop,
    missing_libraries,
)
from console.errors import MissingPackagesError
from tests.support.system import TEST_PACKAGES, missing_package, x_server

ROOT = Path(__file__).resolve().parent.parent
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's Linux wheels")

#: Linked by Qt but not listed: every Debian or Ubuntu with apt and python3 has them.
ALWAYS_THERE = {
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "libresolv.so.2": "libc6",
    "libgcc_s.so.1": "libgcc-s1",
    "libstdc++.so.6": "libstdc++6",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
}

#: Qt's own files that a console start loads (seen in /proc/PID/maps of one on Xvfb).
CONSOLE_QT_FILES = (
    *(f"lib/libQt6{name}.so.6" for name in ("Core", "DBus", "Gui", "Network", "Svg")),
    *(f"lib/libQt6{name}.so.6" for name in ("Widgets", "XcbQpa")),
    "plugins/platforms/libqxcb.so",
    "plugins/platforms/libqoffscreen.so",
    "plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    *(
        f"plugins/imageformats/libq{name}.so"
        for name in ("gif", "icns", "ico", "jpeg", "svg", "tga", "tiff", "wbmp", "webp")
    ),
)


def qt_dir() -> Path:
    spec = importlib.util.find_spec("PySide6")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "Qt"


def needed(path: Path) -> list[str]:
    """The DT_NEEDED entries of a 64-bit little-endian ELF file (what ldd starts from)."""
    data = path.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", f"{path} is not a 64-bit little-endian ELF file"
    (section_table,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    # name, type, flags, addr, offset, size, link, info, addralign, entsize
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, section_table + i * entry_size)
        for i in range(count)
    ]
    names: list[str] = []
    for _, kind, _, _, offset, size, link, *_ in sections:
        if kind != 6:  # SHT_DYNAMIC; its link is the string table
            continue
        strings = sections[link][4]
        for entry in range(offset, offset + size, 16):
            tag, value = struct.unpack_from("<qQ", data, entry)
            if tag == 1:  # DT_NEEDED
                start = strings + value
                names.append(data[start : data.index(b"\0", start)].decode())
    return names


def system_libraries(files: list[str]) -> set[str]:
    """What ``files`` of Qt link outside the wheel, but what every Debian already has."""
    qt = qt_dir()
    bundled = {path.name for path in (qt / "lib").iterdir()}
    linked = {soname for file in files for soname in needed(qt / file)}
    return {
        soname
        for soname in linked - bundled - set(ALWAYS_THERE)
        if not soname.startswith("ld-linux")
    }


@linux_only
def test_the_list_names_every_library_the_console_s_qt_links() -> None:
    anywhere = [file for file in CONSOLE_QT_FILES if "xcb" not in file.lower()]
    on_x11 = [file for file in CONSOLE_QT_FILES if "xcb" in file.lower()]
    assert system_libraries(anywhere) == {library.soname for library in QT_GUI}
    assert system_libraries(on_x11) - system_libraries(anywhere) == {
        library.soname for library in QT_XCB
    }


@linux_only
@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian system (no dpkg)")
@pytest.mark.parametrize(
    "library",
    [*QT_GUI, *QT_XCB, *(Library(s, p) for s, p in ALWAYS_THERE.items())],
    ids=lambda library: library.soname,
)
def test_each_library_comes_from_the_package_named(library: Library) -> None:
    found = subprocess.run(
        ["dpkg-query", "-S", f"*/{library.soname}"], capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.skip(missing_package(library.soname, library.package))
    # "libc6:amd64, libc6:i386: /usr/lib/x86_64-linux-gnu/libc.so.6" and the like
    owners = {
        name.split(":", 1)[0]
        for line in found.stdout.splitlines()
        for name in line.rsplit(": ", 1)[0].split(", ")
    }
    assert owners == {library.package}


def section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def apt_lines(text: str) -> list[list[str]]:
    joined = text.replace("\\\n", " ")
    return [line.split()[3:] for line in joined.splitlines() if line.startswith("sudo apt-get ")]


def test_the_readme_s_first_command_installs_every_package_a_desktop_start_needs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert apt_lines(section(readme, "Run it")) == [list(desktop_packages())]
    assert apt_lines(section(readme, "Test it")) == [list(TEST_PACKAGES)]


def test_ci_installs_the_readme_s_packages_and_runs_its_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    array = script.split("packages=(\n", 1)[1].split("\n)\n", 1)[0]
    names = [word for line in array.splitlines() for word in line.split("#", 1)[0].split()]
    assert names == [*desktop_packages(), *TEST_PACKAGES]
    assert script.rstrip().splitlines()[-1] == "make test"


def test_an_offscreen_start_needs_no_x11_libraries() -> None:
    for platform in ("offscreen", "wayland", "minimal:enable_fonts"):
        assert libraries_needed(platform) == QT_GUI
    for platform in ("", "xcb", "wayland;xcb", "xcb:nomitshm"):
        assert libraries_needed(platform) == QT_GUI + QT_XCB


def test_what_cannot_be_loaded_is_named_with_one_apt_get_line() -> None:
    absent = {"libbrotlidec.so.1", "libbrotlicommon.so.1", "libxcb-cursor.so.0"}
    missing = missing_for_desktop({}, "linux", lambda soname: soname not in absent)
    assert [library.soname for library in missing] == [
        "libbrotlidec.so.1",
        "libbrotlicommon.so.1",
        "libxcb-cursor.so.0",
    ]
    error = MissingPackagesError(
        [library.soname for library in missing], [library.package for library in missing]
    )
    assert str(error) == (
        "the console's window needs libbrotlidec.so.1, libbrotlicommon.so.1, "
        "libxcb-cursor.so.0, which are not installed. Install them (Debian, Ubuntu) and "
        "start again:\n    sudo apt-get install libbrotli1 libxcb-cursor0"
    )
    assert missing_for_desktop({}, "darwin", lambda soname: False) == ()
    assert missing_libraries(QT_GUI, lambda soname: True) == ()


# How a user starts: the console itself, and make run's check before it installs.
PROGRAMS = {
    "python -m console": "from console.cli import main\nsys.exit(main(['--data-dir', DATA]))",
    "make run's check": "from console.desktop import main\nsys.exit(main())",
}


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_missing_library_stops_the_start_with_the_apt_get_line_before_qt(
    tmp_path: Path, program: str
) -> None:
    code = "\n".join(
        [
            "import sys",
            "import console.desktop",
            # One library on the list that no machine has.
            "missing = console.desktop.Library('libshopcast-missing.so.0', 'libshopcast-missing0')",
            "console.desktop.QT_XCB += (missing,)",
            f"DATA = {str(tmp_path / 'data')!r}",
            "try:",
            textwrap.indent(PROGRAMS[program], "    "),
            "finally:",
            "    print('Qt imported:', any(m.startswith('PySide6') for m in sys.modules))",
        ]
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == "    sudo apt-get install libshopcast-missing0"
    assert "libshopcast-missing.so.0, which is not installed" in done.stderr
    assert done.stdout.strip() == "Qt imported: False"


def colours(image: np.ndarray) -> int:
    return len(np.unique(image[::4, ::4].reshape(-1, 3), axis=0))


@linux_only
def test_the_console_opens_a_real_x11_window_and_exits_with_status_0(tmp_path: Path) -> None:
    from media.source import open_source

    missing = missing_for_desktop({"QT_QPA_PLATFORM": "xcb"})
    if missing:
        packages = " ".join(dict.fromkeys(library.package for library in missing))
        pytest.skip(missing_package("Qt's X11 libraries", packages))
    with x_server(1600, 1000) as display:
        env = {
            **os.environ,
            "DISPLAY": f":{display}",
            "QT_QPA_PLATFORM": "xcb",
            "PYTHONUNBUFFERED": "1",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
        args = ["--port", "0", "--data-dir", str(tmp_path / "data"), "--source", "test"]
        process = subprocess.Popen(
            [sys.executable, "-m", "console", *args, "--audio", "none"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()
            assert re.match(r"Viewer page: http://", line), process.stderr.read()
            screen = open_source(f"screen:{display}").frames()
            try:
                shot = next(screen).image
                deadline = time.monotonic() + 30
                while colours(shot) < 16 and time.monotonic() < deadline:
                    shot = next(screen).image
            finally:
                screen.close()
            assert colours(shot) >= 16, "the window never appeared on the X server"
            process.send_signal(signal.SIGTERM)
            try:
                code: int | None = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                code = None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr = process.stderr.read()
        assert code == 0, f"status {code} after SIGTERM (None: still running after 20 s)\n{stderr}"
        assert "Could not load the Qt platform plugin" not in stderr
        assert "Traceback" not in stderr


NEEDS_A_PACKAGE = """
import pytest
from tests.support.system import missing_package

def test_needs_a_tool():
    pytest.skip(missing_package("frob", "frobnicator"))

@pytest.mark.skipif(True, reason=missing_package("frob", "frobnicator"))
def test_marked_as_needing_a_tool():
    pass

def test_skipped_for_another_reason():
    pytest.skip("docs screenshot only")
"""


@pytest.mark.parametrize(
    ("ci", "outcomes"), [("", "3 skipped"), ("true", "1 failed, 1 skipped, 1 error")]
)
def test_a_test_skipped_for_a_missing_package_fails_under_ci(
    tmp_path: Path, ci: str, outcomes: str
) -> None:
    (tmp_path / "test_needs.py").write_text(NEEDS_A_PACKAGE)
    # The suite's own conftest as a plugin: its hook, on tests outside the suite.
    run = ["-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(
        [sys.executable, *run, str(tmp_path / "test_needs.py")],
        cwd=ROOT,
        env={**os.environ, "CI": ci},
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.split(" in ")[0] == outcomes, done.stdout
    if ci:
        assert "frob is not installed (apt-get install frobnicator): CI installs" in done.stdout
