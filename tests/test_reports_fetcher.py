"""The PDF renderer loads only the app's static files and the report's own photos."""

from __future__ import annotations

import io
import socket

import pytest
from pypdf import PdfReader

from auditapp.extensions import db
from auditapp.reports.pdf import ReportURLFetcher, html_to_pdf, static_root

from .factories import make_visit

EVIL = [
    "http://example.com/x.png",
    "https://example.com/y.css",
    "file:///etc/passwd",
    "ftp://example.com/z.png",
]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test loudly."""
    attempts: list = []

    def guard(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", guard)
    monkeypatch.setattr(socket.socket, "connect", guard)
    return attempts


def test_fetcher_refuses_foreign_urls(app, no_network, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for reports")
    fetcher = ReportURLFetcher([static_root()])
    for url in [*EVIL, secret.as_uri(), static_root().as_uri() + "/../auditapp/config.py"]:
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == len(EVIL) + 2
    assert fetcher.fetched == []
    # the app's own static file and data: URLs are allowed
    css = fetcher.fetch((static_root() / "css" / "print.css").as_uri())
    assert b"@page" in css.read()
    css.close()
    assert fetcher.fetch("data:text/plain,hi").read() == b"hi"
    assert no_network == []


def test_pdf_renders_but_refuses_injected_references(app, no_network):
    html = (
        "<html><head><link rel=stylesheet href='https://example.com/evil.css'></head><body>"
        "<h1>Report body</h1>"
        "<img src='http://example.com/x.png'>"
        "<img src='file:///etc/passwd'>"
        "<div style=\"background: url('file:///etc/passwd')\">x</div>"
        "<iframe src='file:///etc/passwd'></iframe>"
        "<object data='file:///etc/passwd'></object>"
        "</body></html>"
    )
    fetcher = ReportURLFetcher([static_root()])
    data = html_to_pdf(html, fetcher=fetcher)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Report body" in text
    assert "root:" not in text
    assert "http://example.com/x.png" in fetcher.refused
    assert "file:///etc/passwd" in fetcher.refused
    assert "https://example.com/evil.css" in fetcher.refused
    assert not any("passwd" in u or "example.com" in u for u in fetcher.fetched)
    assert no_network == []


def test_user_text_cannot_inject_markup(client, auth, chain, no_network, caplog):
    visit = make_visit(chain, chain.stores[0])
    visit.overall_comment = (
        '<img src="http://example.com/x.png"><img src="file:///etc/passwd">'
        '<link rel="stylesheet" href="file:///etc/passwd">'
    )
    visit.order_description = "<script>alert(1)</script>"
    db.session.commit()
    auth.login("hq@example.com")
    with client.get(f"/hq/reports/visits/{visit.id}.pdf") as response:
        assert response.status_code == 200
        data = response.get_data()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    # shown as text, never interpreted
    assert '<img src="http://example.com/x.png">' in text.replace("\n", "")
    assert "root:" not in text
    assert no_network == []
