"""``python -m console.report [SHOW] [--data-dir DIR] [--out DIR]``: write a show's report.

It reads the data file directly, read-only: no staff token, and the hub may be running
or not. The host's own data folder is the common case, so that is the default.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.errors import ShopcastError
from console.report import write_report
from console.settings import default_data_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m console.report",
        description="Write a past show's report (HTML, PNG charts, CSV exports) and print "
        "the files it wrote.",
    )
    parser.add_argument(
        "show", nargs="?", type=int, default=None, help="the show's number (default: the latest)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"the hub's data folder (default {default_data_dir()})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the files (default: reports/show-N in the data folder)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        files = write_report(args.data_dir or default_data_dir(), args.show, args.out)
    except ShopcastError as exc:
        print(f"shopcast: {exc}", file=sys.stderr)
        return 2
    for path in files:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
