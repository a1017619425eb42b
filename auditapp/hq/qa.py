"""HQ: qa."""

from . import bp  # noqa: F401
