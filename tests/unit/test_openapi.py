"""The published OpenAPI description matches the app."""

from __future__ import annotations

import json
from pathlib import Path

from ccwatch.settings import Settings
from ccwatch.web.app import create_app
from models.db import make_engine

SPEC = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_docs_openapi_is_current() -> None:
    app = create_app(Settings(kafka_bootstrap="unused:9092"), make_engine("sqlite://"))
    assert json.loads(SPEC.read_text("utf-8")) == app.openapi(), "run `ccwatch openapi`"


def test_every_endpoint_is_described() -> None:
    paths = json.loads(SPEC.read_text("utf-8"))["paths"]
    for path in (
        "/api/login",
        "/api/alerts",
        "/api/alerts/stream",
        "/api/alerts/{alert_id}/{action}",
        "/api/subjects/{subject_id}",
        "/api/subjects/{subject_id}/track",
        "/api/geo",
        "/api/periods",
        "/api/stats",
        "/api/users",
        "/api/audit",
    ):
        assert path in paths, path
