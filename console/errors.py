"""One exception hierarchy for Shopcast; every message says what happened and what to do."""

from __future__ import annotations


class ShopcastError(Exception):
    """Base of every error Shopcast raises on purpose."""


class ProtocolError(ShopcastError):
    """A client sent something the hub cannot accept; ``code`` is stable for clients."""

    def __init__(
        self,
        code: str,
        message: str,
        retry_after: float | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        #: Form fields at fault (name -> sentence), shown next to the inputs.
        self.fields = fields or {}


class StoreError(ShopcastError):
    """The store cannot be opened or written."""


class StoreVersionError(StoreError):
    """The data file was written by a newer Shopcast than this one."""


class ListenError(ShopcastError):
    """The hub cannot listen on the address and port it was given."""


class BusError(ShopcastError):
    """The hub cannot reach the event bus (Redis) it was told to join."""


class CatalogueError(ShopcastError):
    """Catalogue data is invalid; the message names the product and field."""


class SourceError(ShopcastError):
    """A video or audio source cannot be opened; the message names the device and why."""


class MissingPackagesError(ShopcastError):
    """System packages the console needs are not installed; says the apt-get line to type."""

    def __init__(self, missing: list[str], packages: list[str]) -> None:
        command = "sudo apt-get install " + " ".join(dict.fromkeys(packages))
        one = len(missing) == 1
        super().__init__(
            f"the console's window needs {', '.join(missing)}, which "
            f"{'is' if one else 'are'} not installed. Install {'it' if one else 'them'} "
            f"(Debian, Ubuntu) and start again:\n    {command}"
        )
        self.missing = missing
        self.packages = packages
