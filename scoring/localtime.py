"""Local calendar (Asia/Shanghai): days and months for limits and reports."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local(when: datetime) -> datetime:
    return when.astimezone(LOCAL_TZ)


def local_day(when: datetime) -> str:
    return local(when).strftime("%Y-%m-%d")


def local_month(when: datetime) -> str:
    return local(when).strftime("%Y-%m")
