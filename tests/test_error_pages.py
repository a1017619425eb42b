"""The app's error answers (auditapp/main/errors.py)."""

from __future__ import annotations


def _allowed(response) -> set[str]:
    return {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}


def test_405_says_which_methods_are_allowed(client, auth):
    """RFC 9110 §15.5.6: a 405 answer lists the allowed methods in ``Allow`` (the friendly
    page and the JSON answer both keep the header werkzeug sets)."""
    auth.login("hq@example.com")
    page = client.get("/auth/logout")
    assert page.status_code == 405 and page.mimetype == "text/html"
    assert "This action is not allowed here." in page.get_data(as_text=True)
    assert "POST" in _allowed(page) and "GET" not in _allowed(page)

    api = client.delete("/api/health")
    assert api.status_code == 405 and api.is_json
    assert "GET" in _allowed(api) and "DELETE" not in _allowed(api)

    api = client.get("/api/shopper/visits/1/submit")
    assert api.status_code == 405 and _allowed(api) >= {"POST"}
