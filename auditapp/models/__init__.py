"""All models, importable from ``auditapp.models``."""

from .audit import AuditLog, Setting
from .base import utcnow
from .complaint import Complaint
from .followup import CorrectiveAction, Dispute
from .org import Brand, CompetitorStore, Region, Store
from .questionnaire import Dimension, Item, Questionnaire
from .user import (
    HQ_ADMIN,
    MANAGER,
    QA_AUDITOR,
    ROLES,
    SHOPPER,
    User,
    shopper_store_ties,
    store_managers,
)
from .visit import Answer, Photo, Visit, VisitDimensionScore

__all__ = [
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
    "Item",
    "Photo",
    "Questionnaire",
    "Region",
    "Setting",
    "Store",
    "User",
    "Visit",
    "VisitDimensionScore",
    "shopper_store_ties",
    "store_managers",
    "utcnow",
]
