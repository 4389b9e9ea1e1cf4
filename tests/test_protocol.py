"""The wire protocol: typed decode, stable error codes, frames encoded once."""

from __future__ import annotations

import json
import typing

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console import protocol
from console.errors import ProtocolError


def test_hello_decodes_with_defaults() -> None:
    hello = protocol.decode_client('{"t":"hello","v":1,"viewer_id":"abcdefgh"}')
    assert isinstance(hello, protocol.Hello)
    assert hello.role == "viewer" and hello.since is None and hello.token is None


def test_unknown_fields_are_ignored_so_newer_clients_still_talk() -> None:
    message = protocol.decode_client('{"t":"comment","text":"hi","emoji":"🎉"}')
    assert message == protocol.SendComment(text="hi")


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        ("[]", "malformed", "Invalid message"),
        ('{"t":"nope"}', "malformed", "Invalid message"),
        ('{"t":"hello","v":"one"}', "malformed", "Expected `int`"),
        ('{"t":"hello","v":1,"role":"admin"}', "malformed", "Invalid enum value 'admin'"),
        ("\xff\xfe", "malformed", "not valid JSON"),
        ('{"t":"comment","text":"' + "a" * 17_000 + '"}', "too_large", "over the limit"),
    ],
)
def test_bad_messages_raise_a_typed_error_naming_the_problem(
    raw: str, code: str, words: str
) -> None:
    with pytest.raises(ProtocolError) as caught:
        protocol.decode_client(raw)
    assert caught.value.code == code
    assert words in caught.value.message


def test_frame_joins_encoded_messages_into_one_json_array() -> None:
    encoded = [protocol.encode(protocol.Viewers(count=n)) for n in range(3)]
    assert json.loads(protocol.frame(encoded)) == [{"t": "viewers", "count": n} for n in range(3)]
    decoded = protocol.decode_server(protocol.frame(encoded))
    assert decoded == [protocol.Viewers(count=n) for n in range(3)]


def test_every_room_event_type_carries_seq() -> None:
    for event in typing.get_args(protocol.RoomEvent):
        assert "seq" in {f.name for f in msgspec.structs.fields(event)}, event


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        json_values.map(json.dumps),
        st.fixed_dictionaries(
            {"t": st.sampled_from(["hello", "comment", "set_name", "profile", "catalogue"])},
            optional={
                "v": json_values,
                "text": json_values,
                "name": json_values,
                "viewer_id": json_values,
                "since": json_values,
                "role": json_values,
            },
        ).map(json.dumps),
    )
)
def test_decoder_never_fails_with_anything_but_a_protocol_error(raw: str | bytes) -> None:
    try:
        protocol.decode_client(raw)
    except ProtocolError as exc:
        assert exc.code in {"malformed", "too_large"}
