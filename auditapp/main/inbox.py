"""Everyone's inbox: the notifications ``auditapp.notifications`` wrote for them."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user

from .. import notifications
from ..extensions import db
from ..models import Notification
from ..permissions import Cap, has, requires
from . import bp


@bp.app_context_processor
def unread_notifications() -> dict:
    def count() -> int:
        if not has(current_user, Cap.READ_NOTIFICATIONS):
            return 0
        return notifications.unread_count(current_user)

    return {"unread_notifications": count}


@bp.route("/notifications")
@requires(Cap.READ_NOTIFICATIONS)
def notifications_page():
    rows = notifications.inbox(current_user)
    return render_template("notifications/index.html",
                           rows=[(n, *notifications.text_of(n)) for n in rows])


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@requires(Cap.READ_NOTIFICATIONS)
def notification_read(notification_id: int):
    """Mark one notification read and go where it points (one's own only: 404 else)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    link = note.link
    notifications.mark_read(current_user, note.id)
    db.session.commit()
    return redirect(link if link.startswith("/") and not link.startswith("//")
                    else url_for("main.notifications_page"))


@bp.route("/notifications/read", methods=["POST"])
@requires(Cap.READ_NOTIFICATIONS)
def notifications_read_all():
    notifications.mark_read(current_user)
    db.session.commit()
    return redirect(url_for("main.notifications_page"))
