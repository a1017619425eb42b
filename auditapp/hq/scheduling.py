"""HQ: scheduling."""

from . import bp  # noqa: F401
