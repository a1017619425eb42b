"""The default questionnaires (mystery shop and QA) and helpers to build and copy them."""

from __future__ import annotations

from . import scoring
from .models import Dimension, Item, Questionnaire, utcnow
from .models.questionnaire import KIND_MYSTERY, KIND_QA, PUBLISHED

DIMENSION_NAMES = {
    "speed": ("Speed of service", "服务速度"),
    "courtesy": ("Courtesy", "礼貌待客"),
    "accuracy": ("Order accuracy", "订单准确"),
    "quality": ("Product quality", "产品质量"),
    "cleanliness": ("Cleanliness and atmosphere", "清洁与环境"),
}

# (code, type, English text, Chinese text, weight, critical, allow N/A)
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
        ("accuracy_receipt", "yesno", "Was the receipt correct and given without asking?",
         "收据是否准确并主动提供？", 1.0, False, False),
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
        ("clean_dining", "yesno", "Were the dining area and tables clean?",
         "用餐区和餐桌是否干净？", 1.0, False, True),
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
        ("qa_temperatures", "yesno", "Are fridge and freezer temperatures within range?",
         "冷藏冷冻温度是否在标准范围内？", 1.0, True, False),
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
        for i, (icode, itype, text, text_zh, weight, critical, allow_na) in enumerate(
            items[dim_code]
        ):
            dim.items.append(
                Item(
                    code=icode, item_type=itype, text=text, text_zh=text_zh, weight=weight,
                    critical=critical, allow_na=allow_na, position=i,
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
            code=d.code, name=d.name, name_zh=d.name_zh, weight=d.weight, position=d.position
        )
        for it in d.items:
            dim.items.append(
                Item(
                    code=it.code, text=it.text, text_zh=it.text_zh, guidance=it.guidance,
                    guidance_zh=it.guidance_zh, item_type=it.item_type, weight=it.weight,
                    critical=it.critical, allow_na=it.allow_na,
                    timed_targets=dict(it.timed_targets) if it.timed_targets else None,
                    position=it.position,
                )
            )
        q.dimensions.append(dim)
    return q
