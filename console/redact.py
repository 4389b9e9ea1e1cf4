"""Database URLs as messages and logs may show them: with the password masked.

A ``--database`` or ``--redis`` URL often carries a password, and what the hub prints
ends up in terminals, CI logs and pasted issues. Every message and log line that names
such a URL goes through :func:`masked_url`; a driver's own error text, which may quote
the URL or the piece of it it could not parse, goes through :func:`masked_in`.

Where a URL is malformed, more is masked rather than less: the password runs to the last
``@``, so a password with an unencoded ``/`` or ``@`` in it is still hidden whole.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

MASK: Final = "***"

#: ``[scheme:]//user:password@``: the password is everything up to the last ``@``.
_USERINFO: Final = re.compile(
    r"^((?:[A-Za-z][A-Za-z0-9+.-]*:)?//|(?![A-Za-z][A-Za-z0-9+.-]*://))([^:/@]*):(.*)@", re.S
)
#: ``password=...`` in a URL's query or a libpq ``key=value`` string (quoted or not).
_PASSWORD_PARAM: Final = re.compile(r"(\bpassword\s*=\s*)('(?:\\.|[^'\\])*'|[^&\s]*)", re.I)


def masked_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (``postgresql://ann:***@db/show``)."""
    url = _USERINFO.sub(lambda found: f"{found[1]}{found[2]}:{MASK}@", url, count=1)
    return _PASSWORD_PARAM.sub(lambda found: found[1] + MASK, url)


def masked_in(text: str, url: str) -> str:
    """``text`` (a driver's error about ``url``) with ``url``'s password masked wherever
    it appears, as written in the URL or percent-decoded."""
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _secrets(url: str) -> set[str]:
    found = _USERINFO.match(url)
    written = [found[3]] if found else []
    written += [value.strip("'") for _, value in _PASSWORD_PARAM.findall(url)]
    return {form for secret in written for form in (secret, unquote(secret)) if form}
