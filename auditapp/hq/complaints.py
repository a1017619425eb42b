"""HQ: complaints."""

from . import bp  # noqa: F401
