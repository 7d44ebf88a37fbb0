"""What every data source shares: how it says that it cannot be had here."""


class SourceUnavailable(Exception):
    """A source that cannot be had here (files absent, no network, no credentials): the next one is tried."""
