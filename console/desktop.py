"""The system packages the console's window needs, checked before Qt is loaded.

PySide6's wheels bring Qt but not the system libraries Qt links. When one is missing,
Qt aborts with a message about its xcb plugin that names one library at best (a fresh
Debian 12 also lacked libxcb-icccm4, libxcb-keysyms1 and others). This module is the
one list of those libraries and their Debian/Ubuntu packages: the console checks it
before importing Qt and prints the exact ``apt-get install`` line instead; ``make run``
runs the same check before it installs anything; the README and ``.ci/run`` name the
same packages (a test holds them to it).

The list is every library that Qt's own files link directly (``DT_NEEDED`` of QtCore,
QtGui, QtWidgets, QtNetwork, QtSvg, QtDBus, QtXcbQpa and the plugins the console loads)
but what every Debian or Ubuntu with apt and python3 has (the C and C++ runtimes, zlib,
zstd, GSSAPI): tests/test_desktop_start.py reads those files and holds the list to them.
It stays importable without Qt and without any package outside the standard library,
because the system Python runs it before ``.venv`` exists.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from console.errors import MissingPackagesError


@dataclass(frozen=True)
class Library:
    """A shared library Qt links, by the name the loader looks for, and its package."""

    soname: str
    package: str


#: Any Qt start, the offscreen platform of the tests included (QtGui fails to import).
QT_GUI: tuple[Library, ...] = (
    Library("libEGL.so.1", "libegl1"),
    Library("libGL.so.1", "libgl1"),
    Library("libxkbcommon.so.0", "libxkbcommon0"),
    Library("libfontconfig.so.1", "libfontconfig1"),
    Library("libfreetype.so.6", "libfreetype6"),
    Library("libX11.so.6", "libx11-6"),
    Library("libdbus-1.so.3", "libdbus-1-3"),
    Library("libglib-2.0.so.0", "libglib2.0-0"),
    Library("libgthread-2.0.so.0", "libglib2.0-0"),
    Library("libbrotlidec.so.1", "libbrotli1"),
    Library("libbrotlicommon.so.1", "libbrotli1"),
)

#: A window on X11: Qt's xcb platform plugin and libQt6XcbQpa.
QT_XCB: tuple[Library, ...] = (
    Library("libxcb.so.1", "libxcb1"),
    Library("libX11-xcb.so.1", "libx11-xcb1"),
    Library("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
    Library("libxcb-cursor.so.0", "libxcb-cursor0"),
    Library("libxcb-icccm.so.4", "libxcb-icccm4"),
    Library("libxcb-image.so.0", "libxcb-image0"),
    Library("libxcb-keysyms.so.1", "libxcb-keysyms1"),
    Library("libxcb-randr.so.0", "libxcb-randr0"),
    Library("libxcb-render.so.0", "libxcb-render0"),
    Library("libxcb-render-util.so.0", "libxcb-render-util0"),
    Library("libxcb-shape.so.0", "libxcb-shape0"),
    Library("libxcb-shm.so.0", "libxcb-shm0"),
    Library("libxcb-sync.so.1", "libxcb-sync1"),
    Library("libxcb-util.so.1", "libxcb-util1"),
    Library("libxcb-xfixes.so.0", "libxcb-xfixes0"),
    Library("libxcb-xkb.so.1", "libxcb-xkb1"),
)

#: What ``make`` needs to create ``.venv`` and install Shopcast into it.
SETUP_PACKAGES = ("python3-venv", "make")


def desktop_packages() -> tuple[str, ...]:
    """Every package a first ``make run`` needs, in the order the README's line names them."""
    packages = [*SETUP_PACKAGES, *(library.package for library in QT_GUI + QT_XCB)]
    return tuple(dict.fromkeys(packages))


def libraries_needed(qpa_platform: str) -> tuple[Library, ...]:
    """The libraries a start on ``qpa_platform`` (``QT_QPA_PLATFORM``) loads.

    Unset, Qt opens an X11 window on Linux (a Wayland session can fall back to it), so
    only a value that names other platforms alone (``offscreen``, ``wayland``) spares xcb.
    """
    names = {part.split(":", 1)[0].strip() for part in qpa_platform.split(";")}
    if qpa_platform.strip() and "xcb" not in names:
        return QT_GUI
    return QT_GUI + QT_XCB


def missing_libraries(
    libraries: Iterable[Library], can_load: Callable[[str], bool]
) -> tuple[Library, ...]:
    """The libraries that ``can_load`` cannot load, each once, in the list's order."""
    return tuple(library for library in dict.fromkeys(libraries) if not can_load(library.soname))


def loads(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` (and what it links) on this machine."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_for_desktop(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    can_load: Callable[[str], bool] = loads,
) -> tuple[Library, ...]:
    """The libraries Qt would abort for on this machine; none off Linux (the wheels
    carry everything Qt needs there)."""
    if not platform.startswith("linux"):
        return ()
    return missing_libraries(libraries_needed(environ.get("QT_QPA_PLATFORM", "")), can_load)


def check_desktop() -> None:
    """Raise :class:`MissingPackagesError` naming what to install, before Qt aborts."""
    missing = missing_for_desktop()
    if missing:
        raise MissingPackagesError(
            [library.soname for library in missing], [library.package for library in missing]
        )


def check_setup() -> None:
    """:func:`check_desktop`, and Python's venv module first: ``make`` needs it to install."""
    missing: list[str] = []
    packages: list[str] = []
    if importlib.util.find_spec("ensurepip") is None:
        missing.append("Python's venv module")
        packages.append("python3-venv")
    for library in missing_for_desktop():
        missing.append(library.soname)
        packages.append(library.package)
    if missing:
        raise MissingPackagesError(missing, packages)


def main() -> int:
    """``python3 -m console.desktop``: ``make run``'s check, with the system Python."""
    try:
        check_setup()
    except MissingPackagesError as exc:
        print(f"shopcast: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
