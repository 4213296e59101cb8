"""The map's data through the real app: islands as outlines, ports and ways out, subjects
by state, approved leaves with their destinations, all of the caller's scope; and a
subject's track for a window, scoped and audited like every read of location history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ccwatch.broker import EmbeddedBroker
from ccwatch.settings import Settings
from models.access import AuditEntry
from models.db import make_engine
from models.localtime import LOCAL_TZ
from models.records import Alert, Position
from models.reference import LeavePermit, LeaveStatus
from tests.integration.webapp import NOW, login, web_app

START = datetime(2026, 12, 1, 8, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
def api(broker: EmbeddedBroker, database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    with web_app(broker, database_url) as client_and_settings:
        yield client_and_settings


def fixes(settings: Settings, subject: str, start: datetime, n: int) -> list[datetime]:
    """``n`` fixes of ``subject`` ten minutes apart from ``start``, walking north."""
    times = [start + timedelta(minutes=10 * i) for i in range(n)]
    with Session(make_engine(settings.database_url)) as session, session.begin():
        for i, at in enumerate(times):
            session.add(
                Position(
                    id=f"{subject}-{at.isoformat()}",
                    subject_id=subject,
                    at=at,
                    lat=30.70 + i * 0.001,
                    lon=122.78,
                    accuracy_m=15.0,
                    source="gps",
                )
            )
    return times


def audit_rows(settings: Settings) -> list[AuditEntry]:
    with Session(make_engine(settings.database_url)) as session:
        return list(session.scalars(select(AuditEntry)))


def features(geo: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in geo["features"] if f["properties"]["kind"] == kind]


def test_a_track_for_a_window_is_scoped_and_audited(api: tuple[TestClient, Settings]) -> None:
    client, settings = api
    times = fixes(settings, "SS-0030", START, 6)
    fixes(settings, "SS-0001", START, 3)
    login(client, "gq")
    window = {"since": "2026-12-01T08:05:00+08:00", "until": "2026-12-01T08:35:00+08:00"}
    found = client.get("/api/subjects/SS-0030/track", params=window)
    assert found.status_code == 200
    assert [datetime.fromisoformat(f["at"]) for f in found.json()] == times[3:0:-1]  # newest first
    assert client.get("/api/subjects/SS-0030/track").json()[0]["lat"] == pytest.approx(30.705)
    assert client.get("/api/subjects/SS-0001/track", params=window).status_code == 404
    naive = {"since": "2026-12-01T08:05:00", "until": "2026-12-01T08:35:00"}
    assert client.get("/api/subjects/SS-0030/track", params=naive).status_code == 422
    backwards = {"since": window["until"], "until": window["since"]}
    assert client.get("/api/subjects/SS-0030/track", params=backwards).status_code == 422
    read = [e for e in audit_rows(settings) if e.action == "track.read"]
    assert any(
        e.user_id == "gq" and e.target == "SS-0030" and e.detail.get("since") == window["since"]
        for e in read
    ), [(e.target, e.detail) for e in read]
    denied = [e for e in audit_rows(settings) if e.action == "track.denied"]
    assert [(e.user_id, e.target) for e in denied] == [("gq", "SS-0001")]


def test_the_map_has_islands_ports_subjects_by_state_and_leaves_of_the_callers_scope(
    api: tuple[TestClient, Settings],
) -> None:
    client, settings = api
    engine = make_engine(settings.database_url)
    for subject in ("SS-0001", "SS-0030", "SS-0031"):
        fixes(settings, subject, NOW - timedelta(hours=1), 2)
    with Session(engine) as session, session.begin():
        session.execute(update(Alert).where(Alert.id == "a-2").values(escalated=True))
        for subject, where in (("SS-0001", "上海 Shanghai"), ("SS-0031", "月球 the Moon")):
            session.add(
                LeavePermit(
                    id=f"leave-{subject}",
                    subject_id=subject,
                    starts_at=NOW - timedelta(days=1),
                    ends_at=NOW + timedelta(days=2),
                    destination=where,
                    status=LeaveStatus.APPROVED,
                    approved_at=NOW - timedelta(days=2),
                )
            )
    login(client, "gq")
    geo = client.get("/api/geo").json()
    islands = {f["properties"]["name"]: f["geometry"] for f in features(geo, "island")}
    inhabited = {"泗礁山 Sijiao", "嵊山岛 Shengshan", "枸杞岛 Gouqi", "小洋山 Xiaoyangshan"}
    assert inhabited <= set(islands)
    assert all(len(islands[name]["coordinates"][0]) >= 10 for name in inhabited)  # outlines
    ports = {f["properties"]["name"] for f in features(geo, "port")}
    assert "李柱山码头 Lizhushan pier" in ports
    assert "芦潮港 Luchao port" in {f["properties"]["name"] for f in features(geo, "exit")}
    states = {f["properties"]["subject_id"]: f["properties"] for f in features(geo, "position")}
    assert set(states) == {"SS-0030", "SS-0031"}  # gouqi's only
    assert states["SS-0030"]["state"] == "escalated" and states["SS-0031"]["state"] == "normal"
    assert states["SS-0030"]["office_id"] == "gouqi"
    [leave] = features(geo, "leave")  # not caiyuan's SS-0001
    assert leave["properties"]["subject_id"] == "SS-0031"
    assert leave["geometry"] is None and leave["properties"]["destination"] == "月球 the Moon"

    login(client, "cc")
    geo = client.get("/api/geo").json()
    states = {f["properties"]["subject_id"]: f["properties"] for f in features(geo, "position")}
    assert states["SS-0001"]["state"] == "alert"
    leaves = {f["properties"]["subject_id"]: f for f in features(geo, "leave")}
    shanghai = leaves["SS-0001"]
    assert shanghai["properties"]["place"] == "上海 Shanghai"
    lon, lat = shanghai["geometry"]["coordinates"]
    assert 31.0 < lat < 31.5 and 121.2 < lon < 121.8
