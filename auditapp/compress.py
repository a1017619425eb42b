"""gzip for pages, styles, scripts, the manifest and SVG when the browser accepts it:
the shopper's form page and everything it loads arrive in about a third of their bytes on
a phone's slow network (issue #19; ``benchmarks/form_weight.py``). Static files are
compressed once per version (their ETag) and kept in memory; pages each time (a few KB:
well under a millisecond). The JSON API, downloads, range, conditional and streamed
responses are left as they are."""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

#: Media types worth compressing (images and PDFs are compressed already).
COMPRESSIBLE = ("text/html", "text/css", "text/javascript", "application/javascript",
                "application/manifest+json", "image/svg+xml")
#: Smaller bodies gain nothing worth the header.
MIN_BYTES = 1024
#: Compressed static files by ETag (a static file changes its ETag when it changes).
_STATIC: dict[str, bytes] = {}


def accepts_gzip() -> bool:
    for part in request.headers.get("Accept-Encoding", "").lower().split(","):
        coding, _, q = part.strip().partition(";")
        if coding.strip() in ("gzip", "*") and q.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


def gzip_response(response: Response) -> Response:
    if (response.status_code != 200 or request.method == "HEAD"
            or request.path.startswith("/api/")  # (API clients get what they always got)
            or response.mimetype not in COMPRESSIBLE
            or "Content-Encoding" in response.headers or not accepts_gzip()):
        return response
    static = request.endpoint == "static"
    if response.is_streamed and not (static and response.direct_passthrough):
        return response  # (a generator: exports stream as they are made)
    etag = response.headers.get("ETag") if static else None
    if etag and etag in _STATIC:
        response.close()  # (the file is not read)
        body = _STATIC[etag]
    else:
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=6, mtime=0)
        if etag:
            _STATIC[etag] = body
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


def init_app(app: Flask) -> None:
    app.after_request(gzip_response)
