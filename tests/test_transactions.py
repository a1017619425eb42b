"""The transaction rule (``auditapp/__init__.py``): services never commit; the view, CLI
command or job that calls them commits once per request or command."""

from __future__ import annotations

import ast
from io import BytesIO
from pathlib import Path

from sqlalchemy import event

from auditapp.extensions import db
from auditapp.models import Photo, Visit

from .shopper_helpers import make_assignment

PACKAGE = Path(__file__).resolve().parent.parent / "auditapp"
#: Where transactions end: the blueprints (views), the CLI and the background jobs.
CALLERS = ("api", "auth", "hq", "main", "manager", "reports/views.py", "shopper", "cli.py",
           "jobs.py", "month_end_jobs.py", "reports/cli.py")


def _commits(path: Path) -> list[int]:
    """Lines of ``path`` that call ``….commit()``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "commit"]


def test_services_never_commit():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith(CALLERS):
            continue
        if lines := _commits(path):
            found[name] = lines
    assert found == {}, "services commit; leave it to the view, command or job"


def test_a_draft_with_a_bad_photo_is_one_transaction(client, auth, chain):
    """The HTML form used to commit the photos, then the draft: now one commit."""
    visit = make_assignment(chain)
    auth.login("MS-101")
    commits: list[object] = []

    def on_commit(conn) -> None:
        commits.append(conn)

    event.listen(db.engine, "commit", on_commit)
    try:
        r = client.post(f"/shopper/visits/{visit.id}", data={
            "action": "draft", "order_description": "Typed order text",
            "photos": (BytesIO(b"%PDF-1.4 no image"), "receipt.jpg"),
        }, content_type="multipart/form-data")
    finally:
        event.remove(db.engine, "commit", on_commit)
    assert r.status_code == 400
    assert len(commits) == 1
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "in_progress"
    assert stored.draft["facts"]["order_description"] == "Typed order text"
    assert db.session.query(Photo).filter_by(visit_id=visit.id).count() == 0


def test_a_refused_submission_stores_nothing(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    r = client.post(f"/shopper/visits/{visit.id}", data={"action": "submit"})
    assert r.status_code == 400
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.status == "assigned" and stored.score is None and not stored.answers
