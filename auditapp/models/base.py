"""Shared column helpers for the models."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current time as naive UTC: every DateTime column stores UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)
