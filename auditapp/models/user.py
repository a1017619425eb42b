"""People: HQ admins, QA auditors, store managers and (pseudonymous) mystery shoppers."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .org import Region, Store

#: Role codes; what each role may do is in ``auditapp/permissions.py``.
HQ_ADMIN = "hq_admin"
QA_AUDITOR = "qa_auditor"
AREA_MANAGER = "area_manager"
MANAGER = "manager"
SHOPPER = "shopper"
ROLES: tuple[str, ...] = (HQ_ADMIN, QA_AUDITOR, AREA_MANAGER, MANAGER, SHOPPER)

#: Managers are bound to one or more stores.
store_managers = Table(
    "store_managers",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
)

#: Area managers are given one or more regions (every store of them).
area_manager_regions = Table(
    "area_manager_regions",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
)

#: Stores a shopper must never be sent to (they work there, know the staff, …).
shopper_store_ties = Table(
    "shopper_store_ties",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
)


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name: an e-mail for staff, the pseudonym code (e.g. ``MS-0042``) for shoppers.
    username: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    #: SHA-256 (hex) of the user's personal API token for BI tools (HQ only), or None.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Part of every session and remember-me cookie (see ``get_id``): raising it ends all
    #: of the user's sessions (logout, a new password, deactivation).
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    stores: Mapped[list[Store]] = relationship(secondary=store_managers, order_by=Store.code)
    tied_stores: Mapped[list[Store]] = relationship(secondary=shopper_store_ties)
    regions: Mapped[list[Region]] = relationship(secondary=area_manager_regions,
                                                 order_by=Region.code)

    # --- Flask-Login -----------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session and the remember-me cookie hold: ``"<id>:<session version>"``,
        so that a cookie stops working once the version moves on (``end_sessions``)."""
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Revoke every session and remember-me cookie of this user, on every device."""
        self.session_version = (self.session_version or 1) + 1

    @validates("active")
    def _end_sessions_on_deactivation(self, _key: str, active: bool) -> bool:
        if self.active and not active:
            self.end_sessions()
        return active

    # --- passwords -----------------------------------------------------------------------
    def set_password(self, password: str) -> None:
        """Set a new password; sessions opened with the old one end."""
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    # --- roles -----------------------------------------------------------------------------
    @property
    def pseudonym(self) -> str:
        """What a shopper is called in HQ's pages: their pseudonym code."""
        return self.username

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
