"""``python -m console.report [SHOW] [--data-dir DIR | --database URL] [--out DIR]``: as
``python -m console report``, whose parser it uses."""

from __future__ import annotations

import sys

from console.cli import main

if __name__ == "__main__":
    sys.exit(main(["report", *sys.argv[1:]]))
