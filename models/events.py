"""Wire contract v1.1: the JSON records terminals send and ccwatch publishes.

The structs are the single source of truth: decoding validates against them and
``ccwatch schemas`` exports them as the JSON Schema files under ``docs/schemas``.
Unknown fields are ignored (vendors may add fields); removing or changing one is a new version.

v1.1 adds a location fix's ``datum`` (``wgs84``, ``gcj02`` or ``bd09``), backwards
compatible: a v1 record has none and is WGS-84, as before. ccwatch converts a fix to WGS-84
where it is validated (:mod:`streams.pipeline`), after its signature was checked over the
record as sent. The v1 schema files keep their names (``CONTRACT_VERSION``).
It also adds batched location uploads (:class:`LocationBatch`); every v1 record stays valid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from models import limits
from models.datum import Datum
from models.limits import MAX_RECORD_BYTES

CONTRACT_VERSION = 1
SINCE = {"location-batch": "1.1"}  # record types added by a later minor version

Text = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=limits.MAX_ID, extra_json_schema={"pattern": limits.NO_CONTROL}
    ),
]
Note = Annotated[
    str,
    msgspec.Meta(
        max_length=limits.MAX_NOTE,
        description="Free text; line breaks and tabs allowed, no other control characters.",
        extra_json_schema={"pattern": limits.NO_CONTROL_BUT_LINES},
    ),
]
EventTime = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description="Event time, RFC 3339 with a UTC offset (e.g. 2026-11-30T09:15:00+08:00).",
        extra_json_schema={"pattern": r"(Z|z|[+-]\d{2}:\d{2})$"},
    ),
]
KeyId = Annotated[Text, msgspec.Meta(description="The signing key's id (signed records).")]
Signature = Annotated[
    str,
    msgspec.Meta(
        pattern="^[0-9a-f]{64}$",
        description="HMAC-SHA256 of the canonical record, lowercase hex (docs/contract.md).",
    ),
]
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0, description="WGS-84 degrees.")]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0, description="WGS-84 degrees.")]


class CheckIn(msgspec.Struct, frozen=True, kw_only=True):
    """A subject's identity-verified report (报到) at a self-service terminal."""

    event_id: Annotated[Text, msgspec.Meta(description="Globally unique; retries reuse it.")]
    subject_id: Text
    terminal_id: Text
    occurred_at: EventTime
    method: Literal["face", "fingerprint"]
    match_score: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="Biometric match score, 0..1.")
    ]
    lat: Latitude | None = None
    lon: Longitude | None = None
    key_id: KeyId | None = None
    sig: Signature | None = None


class BatchedFix(msgspec.Struct, frozen=True, kw_only=True):
    """A position as measured: one fix of a batched upload (whose subject and device are
    the batch's), and the base of a single :class:`LocationFix`."""

    event_id: Annotated[Text, msgspec.Meta(description="Globally unique; retries reuse it.")]
    occurred_at: EventTime
    lat: Annotated[Latitude, msgspec.Meta(description="Degrees in `datum` (WGS-84 by default).")]
    lon: Annotated[Longitude, msgspec.Meta(description="Degrees in `datum` (WGS-84 by default).")]
    datum: Annotated[
        Datum,
        msgspec.Meta(
            description=(
                "The datum of lat and lon: wgs84 (GPS), gcj02 (China's map services and "
                "their location SDKs) or bd09 (Baidu's); a record without it (v1) is wgs84. "
                "ccwatch converts the fix to WGS-84 on receipt and keeps only WGS-84."
            )
        ),
    ] = "wgs84"
    accuracy_m: Annotated[
        float, msgspec.Meta(ge=0.0, description="Radius of the 68% confidence circle, metres.")
    ]
    source: Literal["gps", "cell", "wifi"]
    battery_pct: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None


class LocationBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Contract v1.1: the fixes a phone or bracelet recorded since its last upload, in the
    order measured, in one record (on the locations topic, beside single fixes). Each fix
    is checked on its own: a malformed one is dead-lettered with its index, the others go
    on. Signed as a whole, over its fields as sent (docs/contract.md)."""

    subject_id: Text
    device_id: Text
    fixes: Annotated[
        list[Any],  # each read on its own: one that is not even an object is set aside alone
        msgspec.Meta(
            min_length=1,
            max_length=limits.MAX_BATCH_FIXES,
            description="The fixes, in measuring order (see BatchedFix).",
            extra_json_schema={"items": {"$ref": "#/$defs/BatchedFix"}},
        ),
    ]
    key_id: KeyId | None = None
    sig: Signature | None = None


class LocationFix(BatchedFix, frozen=True, kw_only=True):
    """One position of a subject's phone or bracelet."""

    subject_id: Text
    device_id: Text
    key_id: KeyId | None = None
    sig: Signature | None = None


AlertType = Literal[
    "out_of_bounds",  # 越界
    "signal_lost",  # 信号丢失
    "phone_off",  # 关机
    "person_phone_separation",  # 人机分离
    "missed_checkin",  # 未按时报到
    "forbidden_zone",  # 进入禁止区域
    "gathering",  # 聚集
    "implausible_movement",  # 轨迹异常 (suspect fix)
    "leave_overstay",  # 请假逾期未归
    "home_curfew",  # 违反宵禁 (away from home in a prohibition order's curfew hours)
    "no_contact",  # 接触禁止接触人员 (met a person a prohibition order names)
]
Watched = Literal["gathering", "no_contact"]  # alerts decided by group (alerts.gathering)
AlertTransition = Literal["opened", "acknowledged", "dispatched", "escalated", "resolved"]
AlertOutcome = Literal["auto_resolved", "false_alarm", "verified_violation", "explained"]
ActivityKind = Literal["study", "community_service", "thought_report", "psych_test"]
RecommendationKind = Literal[
    "commendation", "admonition", "warning", "revocation_request", "level_change"
]
Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Activity(msgspec.Struct, frozen=True, kw_only=True):
    """Study, community service, a thought report or a psychological test at a terminal."""

    event_id: Annotated[Text, msgspec.Meta(description="Globally unique; retries reuse it.")]
    subject_id: Text
    terminal_id: Text
    occurred_at: EventTime
    activity: ActivityKind
    hours: Annotated[float, msgspec.Meta(ge=0.0, le=24.0, description="Hours spent.")] = 0.0
    key_id: KeyId | None = None
    sig: Signature | None = None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """An officer confirms or rejects a recommendation (web app or CLI)."""

    event_id: Text
    subject_id: Text
    recommendation_id: Text
    decision: Literal["confirmed", "rejected"]
    officer_id: Text
    occurred_at: EventTime
    note: Note = ""


class AlertAction(msgspec.Struct, frozen=True, kw_only=True):
    """An officer acts on an alert: acknowledges, dispatches or resolves it with an outcome."""

    event_id: Text
    subject_id: Text
    alert_id: Text
    action: Literal["acknowledge", "dispatch", "resolve"]
    officer_id: Text
    occurred_at: EventTime
    assignee: Text | None = None  # dispatch: an office or officer id
    outcome: AlertOutcome | None = None  # resolve: what the check found
    note: Note = ""


class DeviceEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A phone or bracelet reports its power state."""

    event_id: Annotated[Text, msgspec.Meta(description="Globally unique; retries reuse it.")]
    subject_id: Text
    device_id: Text
    occurred_at: EventTime
    event: Literal["power_off", "power_on"]
    key_id: KeyId | None = None
    sig: Signature | None = None


class MonthClose(msgspec.Struct, frozen=True, kw_only=True, tag="month_close", tag_field="type"):
    """Control record: close a local month (base points, caps, requirements, reviews)."""

    event_id: Text
    month: Month
    requested_by: Text
    occurred_at: EventTime


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A transition of an alert's lifecycle, published on the alerts topic.

    ``alert_id`` is derived from the evidence, so a redelivered event yields the same id;
    consumers deduplicate on ``transition_id``.
    """

    transition_id: str
    alert_id: str
    transition: AlertTransition
    alert_type: AlertType
    severity: Literal["low", "medium", "high"]
    subject_id: str
    office_id: str
    zone: str
    rule: Annotated[str, msgspec.Meta(description="Detector rule and its version.")]
    evidence: Annotated[list[str], msgspec.Meta(description="Event ids behind the transition.")]
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True, description="Event time.")]
    recorded_at: Annotated[datetime, msgspec.Meta(tz=True, description="Processing time.")]
    reason_zh: str
    reason_en: str
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    actor: str = "system"
    outcome: AlertOutcome | None = None
    assignee: str | None = None  # the office, officer or command center that has it
    sla_due: Annotated[datetime, msgspec.Meta(tz=True)] | None = None


class PointsEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One append-only entry of a subject's points ledger, published on the points topic."""

    entry_id: str
    subject_id: str
    office_id: str
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True, description="Event time.")]
    local_month: Month
    ruleset_id: str
    ruleset_version: str
    rule_id: str
    rule_version: int
    delta: int
    evidence: list[str]
    reason_zh: str
    reason_en: str
    recorded_at: Annotated[datetime, msgspec.Meta(tz=True, description="Processing time.")]
    reverses_entry_id: str | None = None
    corrects_month: Annotated[
        Month | None,
        msgspec.Meta(
            description="An event of this closed month, booked in local_month (a late entry)."
        ),
    ] = None


class Recommendation(msgspec.Struct, frozen=True, kw_only=True):
    """A proposed reward, sanction or level change; an officer confirms or rejects it.

    Published when proposed and again when decided (same id, new status).
    """

    recommendation_id: str
    subject_id: str
    office_id: str
    kind: RecommendationKind
    month: Month
    ruleset_id: str
    ruleset_version: str
    evidence: Annotated[list[str], msgspec.Meta(description="Entry, recommendation, event ids.")]
    reason_zh: str
    reason_en: str
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True, description="Event time.")]
    recorded_at: Annotated[datetime, msgspec.Meta(tz=True, description="Processing time.")]
    level_from: Literal["strict", "normal", "lenient"] | None = None
    level_to: Literal["strict", "normal", "lenient"] | None = None
    status: Literal["proposed", "confirmed", "rejected"] = "proposed"
    decided_by: str | None = None
    decided_at: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    decision_note: str = ""


class Tick(msgspec.Struct, frozen=True, kw_only=True, tag="tick", tag_field="type"):
    """Control record: the time-driven detectors of one partition run as of ``at``
    (silence, missed check-ins, overdue leave, SLAs). Sent by a timer of the owning worker."""

    event_id: Text
    at: EventTime


class RegisterChanged(
    msgspec.Struct, frozen=True, kw_only=True, tag="register_changed", tag_field="type"
):
    """Control record: the supervision register changed (an intake, a transfer, a release,
    a leave decided...). Sent without a key, after the change was committed, to every
    partition of every topic a worker judges (control, groups, sightings, then the
    inputs); a worker applies no record behind it in a log until it reads the register
    again."""

    event_id: Text
    change: Text  # what changed, e.g. "leave.approve"
    subject_id: Text | None = None
    occurred_at: EventTime


Control = MonthClose | Tick | RegisterChanged


class Sighting(msgspec.Struct, frozen=True, kw_only=True):
    """Internal: the group detector's decision about a pair (together for the dwell time,
    or apart again), sent back to the partition of each subject it alerts: co-offenders
    gathering, or a subject with a person a prohibition order names (``kind``)."""

    event_id: str
    subject_id: str
    others: list[str]
    since: datetime
    occurred_at: datetime
    lat: float
    lon: float
    together: bool = True  # False: the run ended (they were seen apart, or not together)
    kind: Watched = "gathering"


class GroupFix(msgspec.Struct, frozen=True, kw_only=True, tag="fix", tag_field="type"):
    """Internal: a co-offender's fix, repartitioned by group (case) from its source
    partition, after that partition processed it."""

    source: int
    fix: LocationFix


class Mark(msgspec.Struct, frozen=True, kw_only=True, tag="mark", tag_field="type"):
    """Internal: a source partition's event time has reached ``at``; no fix it forwards
    later is older (sent to every group partition on each tick)."""

    source: int
    at: datetime


GroupRecord = GroupFix | Mark


INPUT_TYPES: dict[str, type[Any]] = {
    "checkin": CheckIn,
    "location": LocationFix,
    "location-batch": LocationBatch,
    "activity": Activity,
    "decision": Decision,
    "alert-action": AlertAction,
    "device": DeviceEvent,
    "month-close": MonthClose,
    "tick": Tick,
    "register-changed": RegisterChanged,
}
OUTPUT_TYPES: dict[str, type[Any]] = {
    "alert": AlertEvent,
    "points-entry": PointsEntry,
    "recommendation": Recommendation,
}

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {
    t: msgspec.json.Decoder(t)
    for t in (*INPUT_TYPES.values(), *OUTPUT_TYPES.values(), Control, Sighting, GroupRecord)
}
_encoder = msgspec.json.Encoder()


class Rejection(msgspec.Struct, frozen=True):
    """Why a record cannot be processed: a stable reason code and a human detail."""

    reason: str
    detail: str


T = TypeVar("T")


def decode(payload: bytes, kind: type[T]) -> T | Rejection:
    """Decode and validate one record; a :class:`Rejection` names what is wrong. Never
    raises: the limits of :mod:`models.limits` are checked first, anything else that goes
    wrong is ``undecodable``."""
    if not isinstance(payload, bytes):
        return Rejection("undecodable", f"expected bytes, got {type(payload).__name__}")
    if limits.too_large(payload):
        return Rejection("record_too_large", f"{len(payload)} bytes, more than {MAX_RECORD_BYTES}")
    if limits.too_deep(payload):
        return Rejection("too_deeply_nested", f"JSON nested deeper than {limits.MAX_DEPTH}")
    try:
        record = _decoders[kind].decode(payload)
    except msgspec.ValidationError as exc:
        return Rejection(_classify(str(exc)), limits.printable(str(exc)))
    except msgspec.DecodeError as exc:
        return Rejection("undecodable", limits.printable(str(exc)))
    except RecursionError:
        return Rejection("too_deeply_nested", "JSON nested too deeply to decode")
    except Exception as exc:  # whatever else a decoder may raise: never the worker's end
        return Rejection("undecodable", f"{type(exc).__name__}: {limits.printable(str(exc))}")
    if limits.may_hold_control(payload):
        where = limits.control_character(record)
        if where is not None:
            return Rejection("control_character", f"a control character at `{where}`")
    return record  # type: ignore[no-any-return]


def batch_of(fixes: list[LocationFix]) -> LocationBatch:
    """The batched upload of one device's fixes (what a tracker sends; unsigned)."""
    first = fixes[0]
    if any((f.subject_id, f.device_id) != (first.subject_id, first.device_id) for f in fixes):
        raise ValueError("a batch holds the fixes of one device")
    defaults = {f.name: f.default for f in msgspec.structs.fields(BatchedFix)}
    return LocationBatch(
        subject_id=first.subject_id,
        device_id=first.device_id,
        fixes=[
            {k: v for k, v in msgspec.to_builtins(f).items() if k in defaults and v != defaults[k]}
            for f in fixes
        ],
    )


def unbatch(batch: LocationBatch) -> list[LocationFix | Rejection]:
    """A batch's fixes, each as a single fix of the batch's subject and device, or why it
    cannot be one (the reason's detail names its index: ``fixes[3]``)."""
    out: list[LocationFix | Rejection] = []
    for n, raw in enumerate(batch.fixes):
        try:
            one = msgspec.convert(raw, BatchedFix)
        except msgspec.ValidationError as exc:
            text = str(exc)
            out.append(Rejection(_classify(text), limits.printable(f"fixes[{n}]: {text}")))
            continue
        where = limits.control_character(one, f"$.fixes[{n}]")
        if where is not None:
            out.append(Rejection("control_character", f"a control character at `{where}`"))
            continue
        fields: dict[str, Any] = msgspec.structs.asdict(one)
        fields |= {"subject_id": batch.subject_id, "device_id": batch.device_id}
        out.append(LocationFix(**fields, key_id=batch.key_id))
    return out


def decode_control(payload: bytes) -> MonthClose | Tick | RegisterChanged | Rejection:
    return decode(payload, Control)  # type: ignore[arg-type]


def decode_group(payload: bytes) -> GroupFix | Mark | Rejection:
    return decode(payload, GroupRecord)  # type: ignore[arg-type]


def _classify(message: str) -> str:
    """Map a validation message to a reason code (coordinates and offsets get their own)."""
    if message.endswith(("`$.lat`", "`$.lon`")) and ("<=" in message or ">=" in message):
        return "coordinates_out_of_range"
    if message.endswith("`$.occurred_at`") and "timezone" in message:
        return "timestamp_without_offset"
    return "schema_violation"


def encode(record: msgspec.Struct) -> bytes:
    return _encoder.encode(record)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every record type, keyed by file stem."""
    out: dict[str, dict[str, Any]] = {}
    for name, kind in {**INPUT_TYPES, **OUTPUT_TYPES}.items():
        schema = msgspec.json.schema(kind)
        body = schema["$defs"][kind.__name__]
        stem = f"{name}.v{SINCE.get(name, CONTRACT_VERSION)}"
        out[stem] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://ccwatch.example/schemas/{stem}.json",
            **body,
        }
        if kind is LocationBatch:
            fix = msgspec.json.schema(BatchedFix)["$defs"]["BatchedFix"]
            out[stem]["$defs"] = {"BatchedFix": fix}
    return out
