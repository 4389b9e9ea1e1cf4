"""``python -m console.sfu``: see ``console.sfu.run``."""

import sys

from console.sfu.run import main

sys.exit(main())
