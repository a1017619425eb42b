"""Questionnaires: the defaults (mystery shop and QA), building and copying them, and the
life of a version: a draft is edited, then published (retiring the family's version
before it); published and retired versions are read-only. Nothing here commits (see
``auditapp/__init__.py``)."""

from __future__ import annotations

import copy
from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import func, select

from . import conditions, item_types, scoring
from .audit import log_change
from .extensions import db
from .models import Dimension, Item, Questionnaire, Visit, utcnow
from .models.questionnaire import DRAFT, KIND_MYSTERY, KIND_QA, PUBLISHED, RETIRED

DIMENSION_NAMES = {
    "speed": ("Speed of service", "服务速度"),
    "courtesy": ("Courtesy", "礼貌待客"),
    "accuracy": ("Order accuracy", "订单准确"),
    "quality": ("Product quality", "产品质量"),
    "cleanliness": ("Cleanliness and atmosphere", "清洁与环境"),
}

# (code, type, English text, Chinese text, weight, critical, allow N/A[, extras]); extras
# may set the type's ``config``, a ``condition`` and the follow-ups ``require_comment`` /
# ``require_photo`` (see ``models/questionnaire.py``).
DINE_IN_ONLY = {"visit_types": ["dine_in"]}
MYSTERY_ITEMS: dict[str, list[tuple]] = {
    "speed": [
        ("speed_total", "timed", "Time from ordering to receiving the complete order (seconds)",
         "从点餐到拿到全部餐品的时间（秒）", 2.0, False, False),
        ("speed_greeted", "yesno", "Were you greeted or acknowledged within 10 seconds?",
         "10 秒内是否有员工招呼或示意？", 1.0, False, False),
        ("speed_satisfaction", "scale7", "How satisfied were you with the speed of service?",
         "您对服务速度的满意程度？", 1.0, False, False),
    ],
    "courtesy": [
        ("courtesy_smile", "yesno", "Did the crew member smile and make eye contact?",
         "员工是否微笑并有眼神交流？", 1.0, False, False),
        ("courtesy_thanks", "yesno", "Were you thanked at the end of the order?",
         "结束时员工是否向您致谢？", 1.0, False, False),
        ("courtesy_satisfaction", "scale7", "How satisfied were you with the crew's friendliness?",
         "您对员工友善程度的满意程度？", 2.0, False, False),
    ],
    "accuracy": [
        ("accuracy_complete", "yesno", "Was the order complete and exactly as ordered?",
         "餐品是否齐全且与所点一致？", 1.0, True, False),
        ("accuracy_missing", "text", "What was missing or wrong?", "缺少或出错的是什么？",
         1.0, False, False,
         {"condition": {"when": {"item": "accuracy_complete", "failed": True}}}),
        ("accuracy_receipt", "yesno", "Was the receipt correct and given without asking?",
         "小票是否准确并主动提供？", 1.0, False, False, {"require_photo": True}),
        ("accuracy_condiments", "yesno", "Were napkins, straws and condiments provided as needed?",
         "是否按需提供纸巾、吸管和调料？", 1.0, False, True),
    ],
    "quality": [
        ("quality_hot", "yesno", "Was hot food hot and cold food cold?",
         "热食是否够热，冷饮是否够冷？", 1.0, False, False),
        ("quality_appearance", "yesno", "Did the product look like the menu photo?",
         "产品外观是否与菜单图片相符？", 1.0, False, True),
        ("quality_taste", "scale7", "How satisfied were you with the taste of the food?",
         "您对食物口味的满意程度？", 2.0, False, False),
    ],
    "cleanliness": [
        ("clean_dining_room", "info",
         "Dining room (dine-in visits only): sit down for at least 10 minutes before you "
         "judge the tables.", "餐厅（仅限堂食）：请至少坐下 10 分钟后再评价餐桌。", 1.0, False,
         False, {"condition": DINE_IN_ONLY}),
        ("clean_dining", "yesno", "Were the dining area and tables clean?",
         "用餐区和餐桌是否干净？", 1.0, False, True, {"condition": DINE_IN_ONLY}),
        ("clean_restroom", "yesno", "Was the restroom clean and stocked?",
         "洗手间是否干净且用品齐全？", 1.0, True, True),
        ("clean_atmosphere", "scale7",
         "How satisfied were you with the cleanliness and atmosphere?",
         "您对清洁与环境的满意程度？", 1.0, False, False),
    ],
}

QA_ITEMS: dict[str, list[tuple]] = {
    "speed": [
        ("qa_speed_total", "timed", "Measured service time for a standard order (seconds)",
         "标准订单的实测服务时间（秒）", 2.0, False, False),
        ("qa_staffing", "yesno", "Is the station staffed to the deployment chart?",
         "岗位人员是否按排班表配置？", 1.0, False, False),
    ],
    "courtesy": [
        ("qa_greeting", "yesno", "Do crew follow the greeting standard?",
         "员工是否遵循问候标准？", 1.0, False, False),
        ("qa_uniform", "yesno", "Are uniforms and name badges worn correctly?",
         "制服和工牌是否穿戴规范？", 1.0, False, False),
    ],
    "accuracy": [
        ("qa_order_check", "yesno", "Is every order checked against the ticket before handover?",
         "交付前是否逐单核对小票？", 1.0, True, False),
        ("qa_pos", "yesno", "Do POS prices match the menu board?",
         "收银系统价格是否与菜单一致？", 1.0, False, False),
    ],
    "quality": [
        ("qa_holding_times", "yesno", "Are holding times respected for every product?",
         "所有产品是否遵守保存时限？", 1.0, True, False),
        ("qa_fridge_temp", "number", "Walk-in fridge temperature (°C)",
         "冷藏库温度（°C）", 1.0, True, False,
         {"config": {"lo": 0, "hi": 5, "unit": "°C"}, "require_photo": True}),
        ("qa_taste", "scale7", "Auditor's rating of the product tasted",
         "稽核员对试吃产品的评价", 1.0, False, False),
    ],
    "cleanliness": [
        ("qa_kitchen", "yesno", "Is the kitchen clean to standard?",
         "厨房是否达到清洁标准？", 1.0, False, False),
        ("qa_pest", "yesno", "Is there no sign of pests?", "是否无虫害迹象？", 1.0, True, False),
        ("qa_dining", "scale7", "Auditor's rating of the dining area",
         "稽核员对用餐区的评价", 1.0, False, True),
    ],
}


def build_questionnaire(
    code: str, name: str, kind: str, items: dict[str, list[tuple]], version: int = 1
) -> Questionnaire:
    """A published questionnaire with the five dimensions and the given items."""
    q = Questionnaire(
        code=code, name=name, kind=kind, version=version, status=PUBLISHED,
        published_at=utcnow(),
    )
    for position, dim_code in enumerate(scoring.DIMENSIONS):
        en, zh = DIMENSION_NAMES[dim_code]
        dim = Dimension(
            code=dim_code, name=en, name_zh=zh, weight=scoring.DEFAULT_DIMENSION_WEIGHT,
            position=position,
        )
        for i, (icode, itype, text, text_zh, weight, critical, allow_na, *rest) in enumerate(
            items[dim_code]
        ):
            extras = rest[0] if rest else {}
            dim.items.append(
                Item(
                    code=icode, item_type=itype, text=text, text_zh=text_zh, weight=weight,
                    critical=critical, allow_na=allow_na, position=i,
                    config=extras.get("config"), condition=extras.get("condition"),
                    require_comment=extras.get("require_comment", False),
                    require_photo=extras.get("require_photo", False),
                    timed_targets=(
                        {k: list(v) for k, v in scoring.DEFAULT_TIMED_TARGETS.items()}
                        if itype == scoring.TIMED else None
                    ),
                )
            )
        q.dimensions.append(dim)
    return q


def default_mystery() -> Questionnaire:
    return build_questionnaire("MS-STD", "Mystery shop – standard", KIND_MYSTERY, MYSTERY_ITEMS)


def default_qa() -> Questionnaire:
    return build_questionnaire("QA-STD", "QA audit – standard", KIND_QA, QA_ITEMS)


def copy_as_new_version(source: Questionnaire, version: int) -> Questionnaire:
    """A draft copy of ``source`` numbered ``version``, for editing before publishing."""
    q = Questionnaire(code=source.code, name=source.name, kind=source.kind, version=version)
    for d in source.dimensions:
        dim = Dimension(
            code=d.code, name=d.name, name_zh=d.name_zh, weight=d.weight, position=d.position,
            condition=copy.deepcopy(d.condition),
        )
        for it in d.items:
            dim.items.append(
                Item(
                    code=it.code, text=it.text, text_zh=it.text_zh, guidance=it.guidance,
                    guidance_zh=it.guidance_zh, item_type=it.item_type, weight=it.weight,
                    critical=it.critical, allow_na=it.allow_na,
                    timed_targets=dict(it.timed_targets) if it.timed_targets else None,
                    config=copy.deepcopy(it.config), condition=copy.deepcopy(it.condition),
                    require_comment=it.require_comment, require_photo=it.require_photo,
                    position=it.position,
                )
            )
        q.dimensions.append(dim)
    return q


# --- the life of a version: draft → published → retired ----------------------------------


class QuestionnaireError(ValueError):
    """A change the version does not allow; ``problems`` say why (for the user)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def families() -> list[tuple[str, list[Questionnaire]]]:
    """Every questionnaire family (code) with its versions, newest first."""
    rows = db.session.scalars(
        select(Questionnaire).order_by(Questionnaire.code, Questionnaire.version.desc())
    )
    return [(code, list(versions)) for code, versions in groupby(rows, key=lambda q: q.code)]


def family_draft(code: str) -> Questionnaire | None:
    """The family's draft version, if it has one (a family has at most one)."""
    return db.session.scalar(
        select(Questionnaire).where(Questionnaire.code == code, Questionnaire.status == DRAFT)
    )


def visit_count(questionnaire_id: int) -> int:
    """How many visits use this version (any status)."""
    return db.session.scalar(select(func.count(Visit.id))
                             .where(Visit.questionnaire_id == questionnaire_id)) or 0


def new_draft(base: Questionnaire, user_id: int | None) -> tuple[Questionnaire, Questionnaire]:
    """A new draft version of ``base``'s family, copied from the family's published
    version (or from ``base`` when none is published). Returns (draft, source). The
    caller makes sure the family has no draft yet (``family_draft``)."""
    source = db.session.scalar(
        select(Questionnaire)
        .where(Questionnaire.code == base.code, Questionnaire.status == PUBLISHED)
        .order_by(Questionnaire.version.desc()).limit(1)
    ) or base
    latest = db.session.scalar(
        select(func.max(Questionnaire.version)).where(Questionnaire.code == base.code)
    )
    draft = copy_as_new_version(source, (latest or 0) + 1)
    db.session.add(draft)
    db.session.flush()
    log_change("questionnaire", draft.id, "new_version", user_id,
               {"source_id": source.id, "source_version": source.version},
               {"code": draft.code, "version": draft.version})
    return draft, source


def publish_problems(q: Questionnaire) -> list[str]:
    """What stops ``q`` from being published (empty when it may be)."""
    problems = []
    if not q.dimensions:
        problems.append(_("The questionnaire has no dimensions."))
    codes: set[str] = set()
    for d in q.dimensions:
        label = d.name or d.code
        if not d.weight or d.weight <= 0:
            problems.append(_("Dimension %(d)s: the weight must be above 0.", d=label))
        if not d.items:
            problems.append(_("Dimension %(d)s has no items; add at least one.", d=label))
        for it in d.items:
            if it.code in codes:
                problems.append(_("Item code %(c)s is used twice.", c=it.code))
            codes.add(it.code)
            if it.weight <= 0:
                problems.append(_("Item %(c)s: the weight must be above 0.", c=it.code))
            try:
                kind = item_types.of(it)
            except item_types.UnknownItemType:
                problems.append(_("Item %(c)s has an unknown type.", c=it.code))
                continue
            if kind.code == scoring.TIMED:
                for vtype in scoring.VISIT_TYPES:
                    try:
                        t, lim = scoring.timed_target(vtype, it.timed_targets)
                    except (scoring.ScoringError, KeyError, TypeError, ValueError):
                        problems.append(_("Item %(c)s: missing target for %(v)s.", c=it.code,
                                          v=vtype))
                        continue
                    if not (lim > t >= 0):
                        problems.append(_("Item %(c)s: for %(v)s the limit L must be greater "
                                          "than the target T, and T at least 0.", c=it.code,
                                          v=vtype))
            problems += kind.config_problems(it)
    problems += condition_problems(q)
    return problems


def condition_problems(q: Questionnaire) -> list[str]:
    """The conditions' problems (``conditions.problems``) as messages for the editor."""
    messages = {
        "later": lambda p: _("Item %(c)s: its condition refers to %(ref)s, which is not "
                             "an earlier item (a condition may only look back, so that "
                             "there are no cycles).", **p),
        "missing": lambda p: _("Item %(c)s: its condition refers to %(ref)s, which is not "
                               "in this questionnaire.", **p),
        "no_answer": lambda p: _("Item %(c)s: its condition refers to %(ref)s, whose type "
                                 "has no answer to test.", **p),
        "test": lambda p: _("Item %(c)s: its condition needs one test with a valid "
                            "value.", **p),
        "visit_type": lambda p: _("%(c)s: its condition names an unknown visit type.", **p),
        "kind": lambda p: _("%(c)s: its condition names an unknown visit kind.", **p),
        "dimension_when": lambda p: _("Dimension %(c)s: a dimension can only be limited "
                                      "to visit types and kinds.", **p),
    }
    found = conditions.problems(
        [(it.code, it.condition, _answerable(it)) for it in q.items],
        [(d.name or d.code, d.condition) for d in q.dimensions])
    return [messages[code](params) for code, params in found]


def when_text(when: dict) -> str:
    """A condition's test in words, for the editor: "failed", "outside 2..8"."""
    test, operand = conditions.when_operand(when)
    words = {"failed": _("failed"), "passed": _("not failed"),
             "eq": _("equal to %(v)s", v=operand), "lt": _("below %(v)s", v=operand),
             "gt": _("above %(v)s", v=operand), "ge": _("at least %(v)s", v=operand),
             "outside": _("outside %(v)s", v=operand)}
    return words.get(test, "")


def _answerable(item: Item) -> bool:
    try:
        kind = item_types.of(item)
    except item_types.UnknownItemType:
        return False
    return kind.asked and kind.numeric and not kind.photos


def publish(q: Questionnaire, user_id: int | None) -> list[Questionnaire]:
    """Publish the draft ``q``: it becomes its family's published version and the one
    before is retired. Raises ``QuestionnaireError`` with the ``publish_problems``.
    Returns the versions it retired."""
    problems = publish_problems(q)
    if problems:
        raise QuestionnaireError(problems)
    previous = list(db.session.scalars(
        select(Questionnaire).where(Questionnaire.code == q.code,
                                    Questionnaire.status == PUBLISHED)
    ))
    for old in previous:
        old.status = RETIRED
        log_change("questionnaire", old.id, "retire", user_id,
                   {"status": PUBLISHED}, {"status": RETIRED, "replaced_by": q.id})
    q.status, q.published_at = PUBLISHED, utcnow()
    log_change("questionnaire", q.id, "publish", user_id, {"status": DRAFT},
               {"status": PUBLISHED, "code": q.code, "version": q.version,
                "dimension_weights": q.dimension_weights,
                "retired": [o.id for o in previous]})
    return previous


def discard_draft(q: Questionnaire, user_id: int | None) -> None:
    """Delete the draft ``q``; refused (``QuestionnaireError``) once a visit uses it."""
    if visit_count(q.id):
        raise QuestionnaireError([])
    log_change("questionnaire", q.id, "discard_draft", user_id,
               {"code": q.code, "version": q.version}, None)
    db.session.delete(q)
