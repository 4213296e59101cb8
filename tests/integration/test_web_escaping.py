"""Hostile text in every field that reaches a page comes out inert: server-rendered pages
escape it (every template autoescaped), the JSON API hands it back as data, and the pages'
scripts put it in the page as text, never as HTML. Every page and answer carries a strict
Content Security Policy and the usual security headers; no page has inline script or style.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from ccwatch.settings import Settings
from ccwatch.web.app import page_templates
from models.db import make_engine
from models.localtime import LOCAL_TZ
from streams.sink import DatabaseSink
from tests.integration import test_web_api
from tests.integration.webapp import NOW, PASSWORD, alert, login

api = test_web_api.api  # the app on a real broker and a seeded database of each backend

SCRIPT = "<script>alert(1)</script>"
TAG = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
URL = "javascript:alert(1)"
SVG = "<svg onload=alert(1)>"
SHORT = SCRIPT + TAG + TEMPLATE  # 62 characters: fits the 64-character fields
LONG = SHORT + URL
REFLECTED = TAG + TEMPLATE + URL + SVG  # in a page's address (no "/")
MARKUP = (SCRIPT, TAG, SVG)  # what must never come out raw in a page
LINKS = ("href", "src", "action", "formaction")
STATIC = Path(__file__).parents[2] / "ccwatch" / "web" / "static"
DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


class Page(HTMLParser):
    """What matters for script injection in a page: elements, attributes, script, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []  # script or style written in the page itself
        self.text: list[str] = []
        self._in: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append((tag, found))
        self._in = tag
        for name, value in found.items():
            scheme = (value or "").strip().lower().startswith("javascript:")
            if name.startswith("on") or name == "style" or (name in LINKS and scheme):
                self.inline.append(f"<{tag} {name}={value!r}>")
        if tag == "style" or (tag == "script" and not found.get("src")):
            self.inline.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script" and data.strip():
            self.inline.append(f"<script>{data[:40]}")
        self.text.append(data)

    def attribute(self, tag: str, name: str) -> list[str | None]:
        return [a.get(name) for t, a in self.tags if t == tag and name in a]


def strict_headers(response: Any) -> None:
    """The Content Security Policy and the usual headers, on a page or an API answer."""
    given = response.headers["content-security-policy"].split(";")
    policy = {name: value for name, _, value in (d.strip().partition(" ") for d in given)}
    assert {k: policy.get(k) for k in DIRECTIVES} == DIRECTIVES, policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("no-referrer", "same-origin")
    assert response.headers["x-frame-options"] == "DENY"


def post(client: TestClient, csrf: str, url: str, body: dict[str, Any], ok: int = 200) -> Any:
    response = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == ok, (url, response.text)
    return response.json()


@pytest.fixture
def hostile(api: tuple[TestClient, Settings]) -> TestClient:
    """Hostile text in every field that reaches a page, stored through the API as an
    administrator would (and an alert as a worker writes it); logged in as a user whose
    display name is hostile too."""
    client, settings = api
    csrf = login(client, "root")
    user = {"id": "evil", "name": LONG, "role": "admin", "password": PASSWORD}
    post(client, csrf, "/api/users", user, 201)
    csrf = login(client, "evil")
    office = {"office_id": "x-office", "name_zh": SHORT, "name_en": SHORT, "zone": "east"}
    post(client, csrf, "/api/admin/offices", office | {"lat": 30.72, "lon": 122.45})
    today = NOW.astimezone(LOCAL_TZ).date()
    for subject, since in (("SS-9901", today), ("SS-9902", today - timedelta(days=30))):
        intake = {
            "subject_id": subject, "name": SHORT, "correction_type": "probation",
            "decided_by": LONG, "decision_no": SHORT, "starts_on": since.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(), "office_id": "x-office",
            "victims": [SHORT, URL],
        }  # fmt: skip
        post(client, csrf, "/api/subjects", intake, 201)
    start = (NOW + timedelta(days=2)).astimezone(LOCAL_TZ)
    leave = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(days=3)).isoformat()}
    post(client, csrf, "/api/subjects/SS-9901/leaves", leave | {"destination": LONG}, 201)
    order = {
        "document": LONG, "issued_by": LONG, "starts_on": today.isoformat(),
        "zones": [{"name": LONG, "lat": 30.72, "lon": 122.45, "radius_m": 80}],
    }  # fmt: skip
    post(client, csrf, "/api/subjects/SS-9901/orders", order, 201)
    positioning = {
        "reason": "prohibition_order", "approved_by": LONG, "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=3)).isoformat(), "note": LONG,
    }  # fmt: skip
    post(client, csrf, "/api/subjects/SS-9901/positioning", positioning, 201)
    release = {"on": today.isoformat(), "reason": "other", "document": LONG}
    post(client, csrf, "/api/subjects/SS-9902/release", release)
    period = {"name": LONG, "starts_at": (NOW - timedelta(hours=1)).isoformat()}
    period["ends_at"] = (NOW + timedelta(days=1)).isoformat()
    post(client, csrf, "/api/periods", period, 201)
    raised = msgspec.structs.replace(
        alert(9, "x-office", "SS-9901"),
        transition_id=uuid.uuid4().hex,
        alert_id="a-hostile",
        reason_zh=LONG,
        reason_en=LONG,
    )
    DatabaseSink(make_engine(settings.database_url)).write_alerts([raised])
    return client


def strings(answer: Any) -> list[str]:
    """Every string in a JSON answer."""
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, dict):
        answer = list(answer.values())
    if isinstance(answer, list):
        return [s for item in answer for s in strings(item)]
    return []


def pages(client: TestClient) -> list[str]:
    """Every HTML route of the app, a subject's page with a stored and a hostile id."""
    found = [
        route.path
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, APIRoute)
        and "GET" in (route.methods or ())
        and not route.path.startswith("/api/")
        and route.path != "/favicon.ico"
    ]
    assert "/subjects/{subject_id}" in found and "/map" in found and "/" in found
    subjects = ["/subjects/SS-9901", "/subjects/" + quote(REFLECTED, safe="")]
    return [p for p in found if "{" not in p] + subjects


def test_every_template_is_autoescaped() -> None:
    env = page_templates().env
    names = env.list_templates()
    assert len(names) >= 9
    for name in names:
        auto = env.autoescape(name) if callable(env.autoescape) else env.autoescape
        assert auto, f"{name} is rendered without escaping"
        html = env.get_template(name).render(
            s={"name": LONG, "role": LONG, "office": LONG}, subject_id=LONG
        )
        assert not any(m in html for m in MARKUP), name


def test_every_page_renders_hostile_text_inert_under_a_strict_policy(
    hostile: TestClient,
) -> None:
    for path in pages(hostile):
        response = hostile.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        strict_headers(response)
        assert response.headers["cache-control"] == "no-store", path
        page = Page(response.text)
        assert page.inline == [], (path, page.inline)  # script and style from /static only
        scripts = page.attribute("script", "src")
        assert all((src or "").startswith("/static/") for src in scripts), path
        assert not any(m in response.text for m in MARKUP), path
        assert not any(t in ("img", "base", "iframe", "object") for t, _ in page.tags), path
        if path == "/subjects/" + quote(REFLECTED, safe=""):
            assert REFLECTED in "".join(page.text)  # the id from the address, as text
            assert page.attribute("body", "data-subject") == [REFLECTED]
        elif path in ("/", "/map", "/register", "/admin"):
            assert LONG in "".join(page.text), path  # the display name, shown as text


def test_api_answers_hold_the_hostile_text_as_data_and_are_not_cached(
    hostile: TestClient,
) -> None:
    """Pages read these answers and show them with textContent: the text reaches the pages
    as it was stored (nothing is evaluated, {{7*7}} stays), as JSON that is never sniffed."""
    answers = [
        "/api/me",
        "/api/alerts",
        "/api/subjects",
        "/api/subjects/SS-9901",
        "/api/subjects/SS-9902",
        "/api/subjects/SS-9901/orders",
        "/api/subjects/SS-9901/leaves",
        "/api/leaves/pending",
        "/api/positioning/expiring",
        "/api/geo",
        "/api/periods",
        "/api/admin/offices",
    ]
    for url in answers:
        response = hostile.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "application/json", url
        strict_headers(response)
        assert response.headers["cache-control"] == "no-store", url
        assert any(SHORT in text for text in strings(response.json())), url
    static = hostile.get("/static/board.js")
    strict_headers(static)
    assert "no-store" not in static.headers.get("cache-control", "")  # the same for everyone


def test_the_pages_scripts_never_write_html() -> None:
    """Everything the scripts show is set as text (textContent, createElement, attributes
    through setAttribute or dataset), never parsed as HTML, and they set no inline style."""
    unsafe = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
        r"|setTimeout\(\s*['\"`]|\.style\.|setAttribute\(\s*['\"](style|on)"
    )
    scripts = sorted(STATIC.glob("*.js"))
    assert len(scripts) >= 10
    for script in scripts:
        assert not unsafe.findall(script.read_text()), script.name
