"""PDF reports: a visit, a store's month, and HQ's brand summary (issue #6).

- ``pdf``: the WeasyPrint renderer (shared fonts and cache, a URL fetcher that only
  serves the app's static files and the report's own photos).
- ``context``: builds each report's template context from ``analytics`` / ``scoring``, with
  the SVG charts of ``auditapp.charts`` (shared with the pages) embedded inline.
"""

from .pdf import render_report

__all__ = ["render_report"]
