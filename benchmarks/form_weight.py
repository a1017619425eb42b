"""How heavy is the shopper's audit form? Run by hand from the repository root:

    .venv/bin/python benchmarks/form_weight.py

Builds a throwaway app (SQLite in a temporary folder) with one assignment, opens the form as
the shopper and adds up the bytes of the HTML and of every stylesheet and script it loads.
Lists any URL that is not same-origin. Goal: < 60 KB in total, nothing from other hosts.
"""

from __future__ import annotations

import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL = 60 * 1024


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


def main() -> int:
    from auditapp import create_app
    from auditapp.extensions import db
    from auditapp.models import SHOPPER, Brand, Region, Store, User, Visit
    from auditapp.questionnaires import default_mystery

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
            db.session.commit()
            client = app.test_client()
            client.post("/auth/login", data={"username": "MS-1", "password": "bench-pass"})
            with client.get(f"/shopper/visits/{visit.id}") as page:
                html = page.get_data()
                assert page.status_code == 200, page.status_code
            parser = Assets()
            parser.feed(html.decode("utf-8"))
            total = len(html)
            print(f"{'HTML':<40} {len(html):>8} B")
            foreign = []
            for kind, url in parser.urls:
                parts = urlsplit(url)
                if parts.scheme or parts.netloc:
                    foreign.append(url)
                    continue
                if kind in ("link", "script") and url.startswith("/static/"):
                    with client.get(url) as asset:
                        size = len(asset.get_data())
                    total += size
                    print(f"{url:<40} {size:>8} B")
            with client.get("/shopper/sw.js") as worker:
                size = len(worker.get_data())
            total += size
            print(f"{'/shopper/sw.js (service worker)':<40} {size:>8} B")
            print(f"{'TOTAL':<40} {total:>8} B  ({total / 1024:.1f} KB; goal < {GOAL // 1024} KB)")
            if foreign:
                print("Non-same-origin URLs:")
                for url in foreign:
                    print("  ", url)
            else:
                print("Non-same-origin URLs: none")
            return 0 if total < GOAL and not foreign else 1


if __name__ == "__main__":
    raise SystemExit(main())
