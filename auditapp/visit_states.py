"""The visit state machine: what may happen to a visit in each status, in one table, and
the row lock every writer of a visit takes first.

Every path that changes a visit (check-in, draft, photo, submission, reassignment,
release, return, disputes) does, in its transaction and before reading anything it
decides on::

    visit = visit_states.lock(visit.id)           # fresh values, row locked until commit
    new_status = visit_states.move(visit, SUBMIT)  # or TransitionError (a 409)

so two writers of one visit take turns (issue #13: a reassignment, a draft or a check-in
racing a submission corrupted the acknowledged visit), and none can move a visit where
``TRANSITIONS`` does not allow it.

PostgreSQL: ``SELECT … FOR UPDATE`` locks the row. SQLite ignores ``FOR UPDATE`` and its
driver only begins a transaction at the first write, so ``lock`` first writes the row
without changing it: that takes SQLite's database write lock (other writers wait,
``busy_timeout``), and the ``SELECT`` after it sees the latest committed visit.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import gettext as _

from .locks import lock as lock
from .locks import locking as locking
from .models import Visit
from .models.visit import (
    ASSIGNED,
    CANCELLED,
    DISPUTED,
    IN_PROGRESS,
    REJECTED,
    RELEASED,
    RETURNED,
    SUBMITTED,
)
from .months import is_closed


class Action(StrEnum):
    CHECK_IN = "check_in"
    SAVE_DRAFT = "save_draft"
    ADD_PHOTO = "add_photo"
    SUBMIT = "submit"
    REASSIGN = "reassign"
    RELEASE = "release"
    RETURN = "return"
    #: HQ refuses the visit for good: kept for the record, never counted.
    REJECT = "reject"
    #: HQ corrects a text (a typo, a redaction) or voids an item before release.
    CORRECT = "correct"
    DISPUTE = "dispute"
    DECIDE_DISPUTE = "decide_dispute"
    #: The last open dispute was decided: the visit is released again.
    SETTLE = "settle"
    #: HQ moves the due date of an assignment still out in the field.
    EXTEND = "extend"
    #: HQ calls off an assignment before anything was sent (its link dies).
    CANCEL = "cancel"


CHECK_IN, SAVE_DRAFT, ADD_PHOTO, SUBMIT, REASSIGN = (
    Action.CHECK_IN, Action.SAVE_DRAFT, Action.ADD_PHOTO, Action.SUBMIT, Action.REASSIGN)
RELEASE, RETURN, DISPUTE, DECIDE_DISPUTE, SETTLE = (
    Action.RELEASE, Action.RETURN, Action.DISPUTE, Action.DECIDE_DISPUTE, Action.SETTLE)
REJECT, CORRECT = Action.REJECT, Action.CORRECT
EXTEND, CANCEL = Action.EXTEND, Action.CANCEL

#: action → {status it is allowed from: status it leaves the visit in}.
TRANSITIONS: dict[Action, dict[str, str]] = {
    # the evaluator fills the visit in: the first check-in or draft starts it
    CHECK_IN: {ASSIGNED: IN_PROGRESS, IN_PROGRESS: IN_PROGRESS, RETURNED: RETURNED},
    SAVE_DRAFT: {ASSIGNED: IN_PROGRESS, IN_PROGRESS: IN_PROGRESS, RETURNED: RETURNED},
    ADD_PHOTO: {ASSIGNED: ASSIGNED, IN_PROGRESS: IN_PROGRESS, RETURNED: RETURNED},
    SUBMIT: {ASSIGNED: SUBMITTED, IN_PROGRESS: SUBMITTED, RETURNED: SUBMITTED},
    # HQ: another shopper, while nothing was sent
    REASSIGN: {ASSIGNED: ASSIGNED, IN_PROGRESS: ASSIGNED},
    EXTEND: {ASSIGNED: ASSIGNED, IN_PROGRESS: IN_PROGRESS, RETURNED: RETURNED},
    CANCEL: {ASSIGNED: CANCELLED, IN_PROGRESS: CANCELLED},
    # HQ reviews what was sent
    RELEASE: {SUBMITTED: RELEASED},
    RETURN: {SUBMITTED: RETURNED},
    REJECT: {SUBMITTED: REJECTED},
    CORRECT: {SUBMITTED: SUBMITTED},
    # the store's manager disputes released results; HQ decides
    DISPUTE: {RELEASED: DISPUTED, DISPUTED: DISPUTED},
    DECIDE_DISPUTE: {DISPUTED: DISPUTED},
    SETTLE: {DISPUTED: RELEASED},
}


class TransitionError(ValueError):
    """A change the visit's current status does not allow; the message says why (the
    answer is a 409 Conflict)."""

    status_code = 409


def refusal(visit: Visit, action: Action) -> str:
    """Why ``action`` is not allowed on ``visit`` (translated)."""
    from .i18n import STATUS_LABELS

    status = str(STATUS_LABELS.get(visit.status, visit.status))
    if action in (CHECK_IN, SAVE_DRAFT, ADD_PHOTO, SUBMIT):
        return _("This visit was already submitted and can no longer be changed.")
    if action == REASSIGN:
        return _("This visit can no longer be reassigned (status: %(status)s).", status=status)
    if action == EXTEND:
        return _("Only an assignment not yet sent can get a new due date (status: "
                 "%(status)s).", status=status)
    if action == CANCEL:
        return _("Only an assignment not yet sent can be cancelled (status: %(status)s).",
                 status=status)
    if action == RELEASE:
        return _("Only a submitted visit can be released (status: %(status)s).",
                 status=status)
    if action == RETURN:
        return _("Only a submitted visit can be returned (status: %(status)s).",
                 status=status)
    if action == REJECT:
        return _("Only a submitted visit can be rejected (status: %(status)s).",
                 status=status)
    if action == CORRECT:
        return _("Only a visit awaiting review can be corrected (status: %(status)s).",
                 status=status)
    if action == DISPUTE:
        return _("Only released results can be disputed (status: %(status)s).", status=status)
    return _("The disputes of this visit cannot be decided now (status: %(status)s).",
             status=status)


def allows(visit: Visit, action: Action) -> bool:
    return visit.status in TRANSITIONS[action]


#: Actions that change the figures of the visit's month: refused once it is closed.
CHANGES_FIGURES = frozenset({RELEASE, DISPUTE, DECIDE_DISPUTE})


def move(visit: Visit, action: Action) -> str:
    """The status ``action`` leaves ``visit`` in; raises TransitionError when its current
    status does not allow it, or when it would change a closed month's figures
    (SCORING.md §11). The caller sets the status (and logs the change)."""
    target = TRANSITIONS[action].get(visit.status)
    if target is None:
        raise TransitionError(refusal(visit, action))
    if action in CHANGES_FIGURES:
        for month in {visit.month, f"{visit.visit_date:%Y-%m}" if visit.visit_date else None}:
            if month and is_closed(month):
                raise TransitionError(_(
                    "%(month)s is closed: its figures are final, so this visit can no "
                    "longer be released or disputed.", month=month))
    return target


