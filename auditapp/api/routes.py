"""JSON API (see issues #3 and #4)."""

from __future__ import annotations

from . import bp


@bp.route("/health")
def health():
    return {"status": "ok"}
