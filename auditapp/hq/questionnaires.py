"""HQ: questionnaires."""

from . import bp  # noqa: F401
