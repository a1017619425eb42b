"""Manager: report downloads."""

from . import bp  # noqa: F401
