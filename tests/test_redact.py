"""Database URLs in messages and logs show no password (console.redact)."""

from __future__ import annotations

import pytest

from console.redact import masked_in, masked_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ann:s3cret@db:5432/show", "postgresql://ann:***@db:5432/show"),
        ("mysql://ann:s3cret@db/show", "mysql://ann:***@db/show"),
        ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("postgresql://ann:s3/cr@t@db/show", "postgresql://ann:***@db/show"),
        ("postgresql://ann@db/show?password=s3cret&sslmode=require",
         "postgresql://ann@db/show?password=***&sslmode=require"),
        ("host=db user=ann password='s3 cret' dbname=show",
         "host=db user=ann password=*** dbname=show"),
        ("ann:s3cret@db/show", "ann:***@db/show"),
    ],
)  # fmt: skip
def test_a_url_s_password_is_masked(url: str, shown: str) -> None:
    assert masked_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@/show?host=/tmp/pg",
        "postgresql://db:5432/show",
        "redis://127.0.0.1:6379/0",
        "localhost:5432/show",
    ],
)
def test_a_url_without_a_password_is_shown_as_given(url: str) -> None:
    assert masked_url(url) == url


def test_a_driver_s_text_loses_the_password_however_it_quotes_it() -> None:
    url = "postgresql://ann:p%40ss word@db/show"
    told = 'unexpected spaces found in "p%40ss word"; the password "p@ss word" is wrong'
    assert masked_in(told, url) == 'unexpected spaces found in "***"; the password "***" is wrong'
