"""All models, importable from ``auditapp.models``."""

from .audit import AuditLog, Setting
from .base import utcnow
from .complaint import Complaint
from .followup import CorrectiveAction, Dispute
from .integrity import PhotoMeta, VisitEvent, VisitFlag
from .month_end import MonthEndPart, MonthEndRun
from .months import MonthClosure, MonthFigure, SettingVersion
from .notification import Notification, NotificationPreference, OutboxMessage, ReminderSent
from .org import Brand, CompetitorStore, Region, Store
from .questionnaire import Dimension, Item, Questionnaire
from .scenario import Scenario, ScenarioVisit
from .shopper import (
    IntegrityAnswer,
    IntegrityQuestion,
    IntegrityTruth,
    PaymentBatch,
    QuizAttempt,
    QuizQuestion,
    QuizSetting,
    ReportGrade,
    ShopperProfile,
    ShopperUnavailable,
    VisitPay,
)
from .user import (
    AREA_MANAGER,
    HQ_ADMIN,
    MANAGER,
    QA_AUDITOR,
    ROLES,
    SHOPPER,
    User,
    area_manager_regions,
    shopper_store_ties,
    store_managers,
)
from .visit import Answer, Photo, Visit, VisitDimensionScore

__all__ = [
    "AREA_MANAGER",
    "HQ_ADMIN",
    "MANAGER",
    "QA_AUDITOR",
    "ROLES",
    "SHOPPER",
    "Answer",
    "AuditLog",
    "Brand",
    "CompetitorStore",
    "Complaint",
    "CorrectiveAction",
    "Dimension",
    "Dispute",
    "IntegrityAnswer",
    "IntegrityQuestion",
    "IntegrityTruth",
    "Item",
    "MonthClosure",
    "MonthEndPart",
    "MonthEndRun",
    "MonthFigure",
    "Notification",
    "NotificationPreference",
    "OutboxMessage",
    "PaymentBatch",
    "Photo",
    "PhotoMeta",
    "Questionnaire",
    "QuizAttempt",
    "QuizQuestion",
    "QuizSetting",
    "Region",
    "ReminderSent",
    "Scenario",
    "ScenarioVisit",
    "ReportGrade",
    "Setting",
    "SettingVersion",
    "ShopperProfile",
    "ShopperUnavailable",
    "Store",
    "User",
    "Visit",
    "VisitEvent",
    "VisitFlag",
    "VisitPay",
    "VisitDimensionScore",
    "area_manager_regions",
    "shopper_store_ties",
    "store_managers",
    "utcnow",
]
