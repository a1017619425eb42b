"""HQ: reports."""

from . import bp  # noqa: F401
