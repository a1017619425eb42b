"""HQ: review."""

from . import bp  # noqa: F401
