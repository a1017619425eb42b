"""One error pattern on every form, without JavaScript (issue #23): each failing field is
``aria-invalid`` and ``aria-describedby`` names its error; the error summary at the top of
the page links to each failing field and names it."""

from __future__ import annotations

from html.parser import HTMLParser

from .shopper_helpers import make_assignment


class Ids(HTMLParser):
    """Every element's attributes by id, and the summary's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.invalid: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self._in_summary = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.by_id[a["id"]] = a
        if a.get("aria-invalid") == "true":
            self.invalid.append(a)
        if a.get("id") == "error-summary":
            self._in_summary = 1
        elif self._in_summary:
            if tag not in VOID:
                self._in_summary += 1  # depth inside the summary, to know where it ends
            if tag == "a":
                self.links.append(a["href"])

    def handle_endtag(self, tag):
        if self._in_summary and tag not in VOID:
            self._in_summary -= 1


VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def parse(html: str) -> Ids:
    ids = Ids()
    ids.feed(html)
    return ids


def assert_tied(ids: Ids) -> None:
    assert ids.invalid, "no field is marked invalid"
    for field in ids.invalid:
        described = (field.get("aria-describedby") or "").split()
        assert any(d.endswith("error") or d.startswith("err-") for d in described), field
        assert all(d in ids.by_id for d in described), field
    assert ids.links, "the error summary has no links"
    for href in ids.links:
        assert href.startswith("#") and href[1:] in ids.by_id, href


def test_login_errors_are_tied_to_their_fields(client, chain):
    r = client.post("/auth/login", data={"username": "", "password": ""})
    html = r.get_data(as_text=True)
    ids = parse(html)
    assert_tied(ids)
    assert ids.by_id["username"]["aria-describedby"] == "username-error"
    assert "#username" in ids.links


def test_shopper_form_errors_without_javascript_are_tied_and_linked(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    r = client.post(f"/shopper/visits/{visit.id}", data={"action": "submit"})
    assert r.status_code in (400, 422)
    html = r.get_data(as_text=True)
    ids = parse(html)
    assert_tied(ids)
    item = visit.questionnaire.items[0]
    assert f"#item-{item.id}" in ids.links
    assert ids.by_id[f"item-{item.id}"]["aria-describedby"] == f"err-item-{item.id}"
    # the summary names the question, not only the problem
    summary = html[html.index('id="error-summary"'):html.index("</ul>")]
    assert item.text in summary


def test_favicon_is_served_and_linked(client):
    with client.get("/favicon.ico") as r:
        assert r.status_code == 200 and r.data[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in client.get("/auth/login").get_data(as_text=True)
