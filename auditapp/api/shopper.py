"""API: shopper."""

from . import bp  # noqa: F401
