"""Detection policy as data: the normal values and the tighter ones of security periods."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from models.values import SecurityPeriod

Seconds = Annotated[float, msgspec.Meta(ge=0)]
Metres = Annotated[float, msgspec.Meta(ge=0)]
Severity = Literal["low", "medium", "high"]
INPUTS = ("checkins", "locations", "activities", "decisions", "alert-actions", "devices")


class Thresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    confirm_fixes: Annotated[int, msgspec.Meta(ge=1)]
    dwell_s: Seconds
    hysteresis_m: Metres
    far_outside_m: Metres
    far_accuracy_factor: Annotated[float, msgspec.Meta(ge=0)]
    max_speed_kmh: Annotated[float, msgspec.Meta(gt=0)]
    suspects_to_alert: Annotated[int, msgspec.Meta(ge=1)]
    # The position detectors read follows the fixes this finely (alerts.track)
    position_step_m: Metres
    position_refresh_s: Seconds
    silence_s: Seconds
    phone_off_s: Seconds
    checkin_grace_s: Seconds
    overstay_grace_s: Seconds
    forbidden_buffer_m: Metres
    forbidden_dwell_s: Seconds
    gathering_distance_m: Metres
    gathering_dwell_s: Seconds
    curfew_fixes: Annotated[int, msgspec.Meta(ge=1)]
    no_contact_distance_m: Metres
    no_contact_dwell_s: Seconds
    separation_m: Metres
    separation_window_s: Seconds
    sla_s: dict[Severity, Seconds]

    def sla(self, severity: Severity) -> timedelta:
        return timedelta(seconds=self.sla_s[severity])


class InputPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Per input topic: its lateness bound, and how many of its event ids each subject
    remembers (:mod:`alerts.applied`)."""

    ids_keep: Annotated[int, msgspec.Meta(ge=1)]  # at most this many ids...
    ids_keep_s: Seconds  # ...within this much event time of the newest one
    late_after_s: Seconds | None = None  # None: never late (officers' records)


class Policy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str
    lateness_s: Seconds  # how late a record may arrive and still be judged in order
    group_wait_s: Seconds  # longest a silent co-offender holds the group's judgement back
    normal: Thresholds
    security: Thresholds
    inputs: dict[str, InputPolicy]  # by input topic (short name)

    def __post_init__(self) -> None:
        missing = sorted(set(INPUTS) - set(self.inputs))
        if missing:
            raise ValueError(f"[inputs] has no entry for {', '.join(missing)}")


def load_policy(path: Path | None = None) -> Policy:
    data = (
        Path(path).read_bytes()
        if path
        else resources.files("alerts").joinpath("policy.toml").read_bytes()
    )
    try:
        return msgspec.toml.decode(data, type=Policy)
    except (msgspec.ValidationError, ValueError) as exc:
        raise ValueError(f"{path or 'alerts/policy.toml'}: {exc}") from None


def in_force(
    policy: Policy, periods: tuple[SecurityPeriod, ...], when: datetime, office_id: str
) -> tuple[Thresholds, SecurityPeriod | None]:
    """The thresholds at ``when`` for a subject of ``office_id``, and the period if any."""
    period = next((p for p in periods if p.covers(when, office_id)), None)
    return (policy.security if period else policy.normal), period


def is_late(policy: Policy, kind: str, occurred_at: datetime, received_at: datetime | None) -> bool:
    """Whether a record of input ``kind`` reached Kafka later than its bound after its
    event time (``received_at``: the record's broker timestamp; None, unknown: on time).
    A late record is history: it updates the track and the ledger, it changes no alert."""
    bound = policy.inputs[kind].late_after_s
    if bound is None or received_at is None:
        return False
    return (received_at - occurred_at).total_seconds() > bound
