"""A host console joined to a headless SFU hub is handed the WHIP endpoint, and no one else.

The hub's side is tested here against its own sockets; the console publishing by WHIP
through a real Janus is in tests/test_sfu_janus.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.cli import _whip_target as whip_target
from console.cli import build_parser
from console.hub.server import Hub
from console.protocol import WhipTarget
from console.sfu.run import SfuError
from tests.support.clients import RawClient

TARGET = WhipTarget("http://10.213.0.1:7090/whip/endpoint/show", "whip-t0ken")


async def test_only_host_sessions_are_handed_the_whip_endpoint_and_its_token(hub: Hub) -> None:
    hub.room.whip = TARGET
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
    [welcome] = host.of_type("welcome")
    assert welcome["whip"] == {"url": TARGET.url, "token": TARGET.token}
    for role in ("agent", "moderator"):
        staff = await RawClient.staff(hub.local_ws_url, hub.issue_token(role, "Sam"), role)
        [theirs] = staff.of_type("welcome")
        assert theirs["role"] == role
        assert "whip" not in theirs
        assert TARGET.token not in json.dumps(staff.of_type("welcome"))
        await staff.close()
    ann = await RawClient.viewer(hub.local_ws_url, "Ann")
    [page] = ann.of_type("welcome")
    assert "whip" not in page
    await ann.close()
    await host.close()


async def test_a_hub_without_an_endpoint_hands_the_host_none(hub: Hub) -> None:
    host = await RawClient.staff(hub.local_ws_url, hub.issue_token("host", "Mia"))
    [welcome] = host.of_type("welcome")
    assert "whip" not in welcome
    await host.close()


def test_the_hub_takes_the_whip_token_that_console_sfu_keeps_in_its_data_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "sfu").mkdir()
    (tmp_path / "sfu" / "secrets.json").write_text(json.dumps({"whip_token": "kept"}))
    args = build_parser().parse_args(
        ["hub", "--sfu", "ws://127.0.0.1:8188", "--sfu-whip", TARGET.url]
    )
    assert whip_target(args, tmp_path) == WhipTarget(TARGET.url, "kept")
    given = build_parser().parse_args(
        ["hub", "--sfu", "ws://x", "--sfu-whip", TARGET.url, "--sfu-whip-token", "given"]
    )
    assert whip_target(given, tmp_path / "nowhere") == WhipTarget(TARGET.url, "given")
    with pytest.raises(SfuError, match="--sfu-whip-token"):
        whip_target(args, tmp_path / "nowhere")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["hub", "--sfu-whip", "ftp://nowhere"])
