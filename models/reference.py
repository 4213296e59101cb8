"""Reference data: judicial offices, officers, subjects, terminals, geofences, leave permits,
e-positioning approvals."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, ColumnElement, Enum, ForeignKey, String, Text, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin


def _enum(cls: type[enum.Enum]) -> Enum:
    """Store an enum by its value as a plain string (no native type, portable)."""
    return Enum(
        cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Zone(enum.StrEnum):
    EAST = "east"
    CENTRAL = "central"
    WEST = "west"


class CorrectionType(enum.StrEnum):
    PROBATION = "probation"  # 缓刑
    PAROLE = "parole"  # 假释
    CONTROL = "control"  # 管制
    MEDICAL_PAROLE = "medical_parole"  # 暂予监外执行


class Level(enum.StrEnum):
    """Classification level (分类管理)."""

    STRICT = "strict"  # 严管
    NORMAL = "normal"  # 普管
    LENIENT = "lenient"  # 宽管


class GeofenceKind(enum.StrEnum):
    COUNTY = "county"  # the jurisdiction a subject may not leave without approval
    FORBIDDEN = "forbidden"  # a prohibition order's exclusion zone
    EXIT = "exit"  # a way out (outside port, ferry route): outside here alerts at once
    ISLAND = "island"  # an inhabited island's outline, for the map


class EndReason(enum.StrEnum):
    """Why supervision ended (解矫)."""

    TERM_END = "term_end"  # 期满解矫
    REVOKED = "revoked"  # 撤销缓刑、假释或收监执行
    DEATH = "death"  # 死亡
    OTHER = "other"  # 其他


class LeaveStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PositioningReason(enum.StrEnum):
    """The five cases in which electronic positioning may be used (Community Correction Law
    art. 29)."""

    PROHIBITION_ORDER = "prohibition_order"  # 违反人民法院禁止令
    LEFT_WITHOUT_APPROVAL = "left_without_approval"  # 无正当理由未经批准离开所居住的市、县
    WARNED_FOR_NOT_REPORTING = "warned_for_not_reporting"  # 拒不报告活动情况,被给予警告
    POLICE_PENALTY = "police_penalty"  # 违反监督管理规定,被给予治安管理处罚
    PENDING_REVOCATION = "pending_revocation"  # 拟提请撤销缓刑、假释或暂予监外执行


class Office(TimestampMixin, Base):
    """A township judicial office (司法所)."""

    __tablename__ = "offices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    zone: Mapped[Zone] = mapped_column(_enum(Zone))
    lat: Mapped[float]
    lon: Mapped[float]

    subjects: Mapped[list[Subject]] = relationship(back_populates="office")


class Officer(TimestampMixin, Base):
    """A correction officer working at one office."""

    __tablename__ = "officers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))


def supervised_until(ends_on: date, released_on: date | None) -> date:
    """A subject's last day under supervision: the term's end, or the day before a release."""
    if released_on is None:
        return ends_on
    return min(ends_on, released_on - timedelta(days=1))


class Subject(TimestampMixin, Base):
    """A person serving a community sentence (社区矫正对象) and their supervision period."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.id"))
    correction_type: Mapped[CorrectionType] = mapped_column(_enum(CorrectionType))
    level: Mapped[Level] = mapped_column(_enum(Level))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    home_lat: Mapped[float | None]
    home_lon: Mapped[float | None]
    signal_grace_s: Mapped[float] = mapped_column(
        default=0.0, server_default="0", doc="Extra silence allowed (fishermen at sea)"
    )
    case_id: Mapped[str | None] = mapped_column(
        String(32), index=True, doc="Co-offenders share a case"
    )
    decided_by: Mapped[str | None] = mapped_column(
        String(128), doc="The deciding organ: court, prison administration or public security"
    )
    decision_no: Mapped[str | None] = mapped_column(String(64), doc="Its document number")
    released_on: Mapped[date | None] = mapped_column(
        doc="First day no longer under supervision, when it ended before the term's end"
    )
    end_reason: Mapped[EndReason | None] = mapped_column(_enum(EndReason))
    end_document: Mapped[str | None] = mapped_column(String(128), doc="The release document")
    victims: Mapped[list[str] | None] = mapped_column(
        JSON, doc="Victims named at intake (not tracked: they carry no device)"
    )

    @classmethod
    def on_register(cls, day: date) -> ColumnElement[bool]:
        """A query condition: under supervision on ``day`` (from intake to the last day)."""
        return and_(
            cls.starts_on <= day,
            cls.ends_on >= day,
            or_(cls.released_on.is_(None), cls.released_on > day),
        )

    def last_day(self) -> date:
        """The last day under supervision: the term's end, or the day before a release."""
        return supervised_until(self.ends_on, self.released_on)

    office: Mapped[Office] = relationship(back_populates="subjects")


class Terminal(TimestampMixin, Base):
    """A self-service correction kiosk (自助矫正终端) at an office."""

    __tablename__ = "terminals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    lat: Mapped[float]
    lon: Mapped[float]


class Geofence(TimestampMixin, Base):
    """A polygon: the county boundary, or a subject's forbidden zone (of a prohibition
    order, ``order_id``; a zone without one is in force always)."""

    __tablename__ = "geofences"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[GeofenceKind] = mapped_column(_enum(GeofenceKind))
    name: Mapped[str] = mapped_column(String(128))
    subject_id: Mapped[str | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    geometry: Mapped[dict[str, object]] = mapped_column(JSON, doc="GeoJSON Polygon, lon/lat")
    buffer_m: Mapped[float] = mapped_column(default=0.0)
    active_from_hour: Mapped[int | None] = mapped_column(doc="Local hour; may wrap midnight")
    active_to_hour: Mapped[int | None]
    order_id: Mapped[str | None] = mapped_column(
        ForeignKey("prohibition_orders.id"), index=True, doc="The prohibition order it is part of"
    )


class LeavePermit(TimestampMixin, Base):
    """Permission to leave the county (请假外出) for a time window."""

    __tablename__ = "leave_permits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    destination: Mapped[str] = mapped_column(Text)
    status: Mapped[LeaveStatus] = mapped_column(_enum(LeaveStatus))
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("officers.id"))
    approved_at: Mapped[datetime | None]
    emergency: Mapped[bool] = mapped_column(
        default=False, server_default="0", doc="Allowed even during a security period"
    )
    requested_by: Mapped[str | None] = mapped_column(String(64), doc="User who entered it")
    decided_by: Mapped[str | None] = mapped_column(String(64), doc="User who decided it")
    returned_at: Mapped[datetime | None] = mapped_column(
        doc="Back early: the leave ended here (``ends_at`` is moved to it)"
    )
    extends: Mapped[str | None] = mapped_column(
        String(64), doc="The leave this one extends (an extension is approved on its own)"
    )


class PositioningApproval(TimestampMixin, Base):
    """An approval of electronic positioning (电子定位审批, art. 29): the subject's fixes and
    device events are used for supervision only on its days, local dates from ``starts_on``
    to ``ends_on`` inclusive (Asia/Shanghai), at most 3 months, each extension at most 3
    months more (:mod:`register.positioning_rules`), and only until ``revoked_at``."""

    __tablename__ = "positioning_approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    reason: Mapped[PositioningReason] = mapped_column(_enum(PositioningReason))
    note: Mapped[str] = mapped_column(Text, default="", doc="The facts")
    approved_by: Mapped[str] = mapped_column(String(128), doc="Who approved: a name or an id")
    decided_by: Mapped[str] = mapped_column(String(64), doc="User who entered it")
    starts_on: Mapped[date]
    ends_on: Mapped[date] = mapped_column(doc="The last day, inclusive")
    extends: Mapped[str | None] = mapped_column(
        ForeignKey("positioning_approvals.id"), doc="The approval this one extends"
    )
    revoked_at: Mapped[datetime | None] = mapped_column(doc="Positioning ended here")
    revoked_by: Mapped[str | None] = mapped_column(String(64), doc="User who revoked it")


class SecurityPeriodRow(TimestampMixin, Base):
    """A major event (重大活动安保期): tighter detection, escalation, daily zero reports."""

    __tablename__ = "security_periods"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    offices: Mapped[list[str]] = mapped_column(JSON, default=list, doc="Empty: the county")


class DeviceKeyRow(TimestampMixin, Base):
    """A signing key of a kiosk, phone or bracelet (HMAC-SHA256). Keys are never deleted:
    a retired key still tells which records it signed before ``retired_at``."""

    __tablename__ = "device_keys"

    key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128), index=True, doc="Terminal or device id")
    subject_id: Mapped[str | None] = mapped_column(
        ForeignKey("subjects.id"), doc="A phone's or bracelet's subject; kiosks: none"
    )
    secret: Mapped[str] = mapped_column(String(128), doc="Hex; sensitive, never logged")
    retired_at: Mapped[datetime | None] = mapped_column(
        doc="Records dated from here on are refused with this key"
    )


class ProhibitionOrder(TimestampMixin, Base):
    """A prohibition order (禁止令) of a subject's judgment, with its parts: forbidden zones
    (:class:`Geofence` rows of kind ``forbidden`` with its id), a home curfew (宵禁: at home,
    within ``home_radius_m`` of the subject's registered home, from ``curfew_from_hour`` to
    ``curfew_to_hour`` local time) and the persons not to meet (:class:`NoContact`)."""

    __tablename__ = "prohibition_orders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    document: Mapped[str] = mapped_column(String(128), doc="Its document number")
    issued_by: Mapped[str] = mapped_column(String(128), doc="The court that issued it")
    starts_on: Mapped[date]
    ends_on: Mapped[date | None] = mapped_column(doc="Its last day; none: the term's")
    lifted_on: Mapped[date | None] = mapped_column(doc="First day no longer in force, if lifted")
    curfew_from_hour: Mapped[int | None] = mapped_column(doc="Local hour; may wrap midnight")
    curfew_to_hour: Mapped[int | None]
    home_radius_m: Mapped[float | None] = mapped_column(doc="At home: within this of home")
    created_by: Mapped[str] = mapped_column(String(64), doc="User who entered it")

    zones: Mapped[list[Geofence]] = relationship(order_by=Geofence.id)
    no_contact: Mapped[list[NoContact]] = relationship(order_by="NoContact.person_id")

    def last_day(self) -> date | None:
        """The last day in force: its end, or the day before it was lifted."""
        if self.lifted_on is None:
            return self.ends_on
        before = self.lifted_on - timedelta(days=1)
        return before if self.ends_on is None else min(self.ends_on, before)


class NoContact(Base):
    """A person a prohibition order forbids its subject to meet: another subject under
    supervision (the only persons whose positions ccwatch has)."""

    __tablename__ = "no_contact"

    order_id: Mapped[str] = mapped_column(ForeignKey("prohibition_orders.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
