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


class Thresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    confirm_fixes: Annotated[int, msgspec.Meta(ge=1)]
    dwell_s: Seconds
    hysteresis_m: Metres
    far_outside_m: Metres
    far_accuracy_factor: Annotated[float, msgspec.Meta(ge=0)]
    max_speed_kmh: Annotated[float, msgspec.Meta(gt=0)]
    suspects_to_alert: Annotated[int, msgspec.Meta(ge=1)]
    silence_s: Seconds
    phone_off_s: Seconds
    checkin_grace_s: Seconds
    overstay_grace_s: Seconds
    forbidden_buffer_m: Metres
    forbidden_dwell_s: Seconds
    gathering_distance_m: Metres
    gathering_dwell_s: Seconds
    separation_m: Metres
    separation_window_s: Seconds
    sla_s: dict[Severity, Seconds]

    def sla(self, severity: Severity) -> timedelta:
        return timedelta(seconds=self.sla_s[severity])


class Policy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str
    lateness_s: Seconds  # how late a record may arrive and still be judged in order
    group_wait_s: Seconds  # longest a silent co-offender holds the group's judgement back
    normal: Thresholds
    security: Thresholds


def load_policy(path: Path | None = None) -> Policy:
    data = (
        Path(path).read_bytes()
        if path
        else resources.files("alerts").joinpath("policy.toml").read_bytes()
    )
    try:
        return msgspec.toml.decode(data, type=Policy)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path or 'alerts/policy.toml'}: {exc}") from None


def in_force(
    policy: Policy, periods: tuple[SecurityPeriod, ...], when: datetime, office_id: str
) -> tuple[Thresholds, SecurityPeriod | None]:
    """The thresholds at ``when`` for a subject of ``office_id``, and the period if any."""
    period = next((p for p in periods if p.covers(when, office_id)), None)
    return (policy.security if period else policy.normal), period
