"""``python -m console.sfu``: run the SFU (``console.sfu.run``); ``python -m console.sfu
service``: write its systemd units and the hub's (``console.sfu.service``)."""

import sys

from console.sfu import run, service

sys.exit(service.main(sys.argv[2:]) if sys.argv[1:2] == ["service"] else run.main())
