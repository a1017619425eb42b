"""API: hq."""

from . import bp  # noqa: F401
