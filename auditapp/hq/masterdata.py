"""HQ: masterdata."""

from . import bp  # noqa: F401
