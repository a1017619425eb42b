"""How heavy is the shopper's audit form on first load? Run by hand from the repository root:

    .venv/bin/python benchmarks/form_weight.py

Builds a throwaway app (SQLite in a temporary folder) with one assignment, opens the form as
the shopper's phone does (``Accept-Encoding: gzip``) and adds up, per URL, the bytes
transferred, response headers included (and the size without compression), of the HTML,
every stylesheet and script it loads, the service worker and what it imports, the web app
manifest and the icons it names. Photos are not counted. Lists any URL that is not
same-origin. Goal (issue #19): at most 60 KB transferred, nothing from other hosts.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL = 60 * 1024
PHONE = {"Accept-Encoding": "gzip, deflate, br"}


class Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("href"):
            self.urls.append(("link", a["href"] or ""))
        elif tag in ("script", "img", "iframe", "source") and a.get("src"):
            self.urls.append((tag, a["src"] or ""))
        elif tag == "form" and a.get("action"):
            self.urls.append(("form", a["action"] or ""))


def measure(client, path: str, title: str) -> tuple[int, int, list[str]]:
    """One form's first load: bytes transferred, bytes unpacked, other hosts named."""
    import gzip

    sent = raw = 0
    seen: set[str] = set()
    foreign: list[str] = []

    def fetch(url: str, label: str | None = None) -> bytes:
        nonlocal sent, raw
        seen.add(url)
        with client.get(url, headers=PHONE) as res:
            assert res.status_code == 200, (url, res.status_code)
            body = res.get_data()
            gz = res.headers.get("Content-Encoding") == "gzip"
            head = len(f"HTTP/1.1 {res.status}\r\n") + sum(
                len(k) + len(v) + 4 for k, v in res.headers.items()) + 2
            plain = gzip.decompress(body) if gz else body
            sent += head + len(body)
            raw += head + len(plain)
            print(f"{label or url:<42} {head + len(body):>8} B {head + len(plain):>9} B")
            return plain

    print(f"\n{title}")
    print(f"{'':<42} {'sent':>10} {'unpacked':>11}")
    html = fetch(path, "HTML").decode("utf-8")
    parser = Assets()
    parser.feed(html)
    manifest = None
    for kind, url in parser.urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            foreign.append(url)
            continue
        if kind in ("link", "script") and url not in seen and (
                url.startswith("/static/") or url.endswith(".webmanifest")):
            body = fetch(url)
            if url.endswith(".webmanifest"):
                manifest = json.loads(body)
    worker = fetch("/shopper/sw.js", "/shopper/sw.js (service worker)").decode()
    for url in re.findall(r'importScripts\("([^"]+)"\)', worker):
        if url not in seen:
            fetch(url)
    for icon in (manifest or {}).get("icons", []):
        if icon["src"] not in seen:
            fetch(icon["src"], f"{icon['src']} (manifest icon)")
    print(f"{'TOTAL':<42} {sent:>8} B {raw:>9} B   transferred {sent / 1024:.1f} KB "
          f"(goal ≤ {GOAL // 1024} KB); uncompressed {raw / 1024:.1f} KB, "
          f"ratio {sent / raw:.2f}, {len(seen)} requests")
    if foreign:
        print("Non-same-origin URLs:")
        for url in foreign:
            print("  ", url)
    else:
        print("Non-same-origin URLs: none")
    return sent, raw, foreign


def main() -> int:
    from auditapp import create_app
    from auditapp.extensions import db
    from auditapp.models import SHOPPER, Brand, Region, Store, User, Visit
    from auditapp.questionnaires import default_mystery

    try:  # scenario shops (issue #24): the form then has a section and a script more
        from auditapp.models import Scenario, ScenarioVisit
    except ImportError:  # (an older tree, measured side by side)
        Scenario = ScenarioVisit = None

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db",
                          "UPLOAD_FOLDER": f"{tmp}/files"})
        with app.app_context():
            db.create_all()
            brand = Brand(code="B", name="Brand")
            region = Region(code="R", name="Region", brand=brand)
            store = Store(code="S1", name="上海南京西路店", address="南京西路 1 号", region=region)
            shopper = User(username="MS-1", role=SHOPPER)
            shopper.set_password("bench-pass")
            q = default_mystery()
            visit = Visit(store=store, evaluator=shopper, questionnaire=q, month="2026-05",
                          visit_type="drive_thru")
            db.session.add_all([brand, region, store, shopper, q, visit])
            forms = [(visit, "plain mystery visit")]
            if Scenario is not None:
                sc = Scenario(code="SC-1", title="Cold fries", title_zh="薯条是凉的",
                              script="Say the fries are cold and ask for fresh ones.",
                              script_zh="说薯条是凉的，请店员换一份。",
                              visit_types=["drive_thru"])
                other = Visit(store=store, evaluator=shopper, questionnaire=q,
                              month="2026-05", visit_type="drive_thru")
                db.session.add_all([sc, other, ScenarioVisit(visit=other, scenario=sc)])
                forms.append((other, "scenario visit (the heaviest form)"))
            db.session.commit()
            client = app.test_client()
            client.post("/auth/login", data={"username": "MS-1", "password": "bench-pass"})
            worst, foreign = 0, []
            for v, title in forms:  # each a first load (nothing kept from the other)
                sent, _raw, other_hosts = measure(client, f"/shopper/visits/{v.id}", title)
                worst, foreign = max(worst, sent), foreign + other_hosts
            return 0 if worst <= GOAL and not foreign else 1


if __name__ == "__main__":
    raise SystemExit(main())
