"""HQ: settings."""

from . import bp  # noqa: F401
