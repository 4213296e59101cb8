"""The board in real headless Chromium: log in, see a live alert appear without reloading,
acknowledge and resolve it, see the map. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session

from ccwatch.broker import free_port
from ccwatch.web.app import create_app
from ccwatch.web.auth import hash_password
from models.access import Role, User
from models.localtime import LOCAL_TZ
from tests.integration.harness import REPO, System
from tests.integration.test_detection import fix

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WORKER_SETTINGS = {"tick_interval_s": 0}
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def site(system: System) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium")
        pytest.skip("no chromium on this machine")
    with Session(system.engine) as session, session.begin():
        session.merge(
            User(
                id="duty",
                name="值班员 duty officer",
                role=Role.COMMAND,
                password_hash=hash_password(PASSWORD),
            )
        )
    port = free_port()
    settings = system.settings.model_copy(update={"web_secret": "browser-test"})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, system.engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_log_in_see_a_live_alert_handle_it_and_see_the_map(site: str, system: System) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    stem = system.settings.database_url.split(":", 1)[0].split("+")[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{site}/login")
        page.fill("input[name=username]", "duty")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/")
        page.wait_for_timeout(1500)  # the board is listening (server-sent events)

        now = datetime.now(UTC)
        system.send(
            system.settings.topics.locations,
            b"SS-0007",
            fix(1, "SS-0007", now - timedelta(minutes=5), (30.40, 122.30)),
        )
        row = page.wait_for_selector("tr.high:has-text('SS-0007')", timeout=30_000)
        assert row is not None and "out_of_bounds" in row.inner_text()
        page.screenshot(path=ARTIFACTS / f"board-live-alert-{stem}.png")

        row.query_selector("button[data-action=acknowledge]").click()  # type: ignore[union-attr]
        page.wait_for_selector("tr:has-text('SS-0007'):has-text('acknowledged')", timeout=30_000)
        answers = iter(["verified_violation", "电话核实"])
        page.on("dialog", lambda dialog: dialog.accept(next(answers)))
        page.click("tr:has-text('SS-0007') button[data-action=resolve]")
        page.wait_for_selector("tr:has-text('SS-0007')", state="detached", timeout=30_000)
        page.screenshot(path=ARTIFACTS / f"board-resolved-{stem}.png")

        page.goto(f"{site}/map")
        page.wait_for_selector("svg[data-ready=true] polygon.county", timeout=30_000)
        page.wait_for_selector("circle.subject", timeout=30_000)
        page.screenshot(path=ARTIFACTS / f"map-{stem}.png")
        browser.close()


def test_a_leave_asked_on_the_subject_page_and_decided_on_the_leave_page(
    site: str, system: System
) -> None:
    from playwright.sync_api import Page, sync_playwright

    with Session(system.engine) as session, session.begin():
        session.merge(
            User(
                id="cy-browser",
                name="菜园所干警",
                role=Role.OFFICER,
                office_id="caiyuan",
                password_hash=hash_password(PASSWORD),
            )
        )
    stem = system.settings.database_url.split(":", 1)[0].split("+")[0]
    start = (datetime.now(UTC) + timedelta(days=2)).astimezone(LOCAL_TZ)

    def log_in(page: Page, user: str) -> None:
        page.goto(f"{site}/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{site}/")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        officer = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
        log_in(officer, "cy-browser")
        officer.goto(f"{site}/subjects/SS-0001")
        officer.fill("input[name=starts_at]", f"{start:%Y-%m-%dT08:00}")
        officer.fill("input[name=ends_at]", f"{start + timedelta(days=10):%Y-%m-%dT18:00}")
        officer.fill("input[name=destination]", "上海 <b>Shanghai</b>")
        officer.click("#leave-form button[type=submit]")
        officer.wait_for_selector("#outcome.accepted")
        row = officer.wait_for_selector("#leaves tr:has-text('requested')")
        assert row is not None and "上海 <b>Shanghai</b>" in row.inner_text()  # text, not HTML
        assert f"{start:%Y/%-m/%-d} 08:00:00" in row.inner_text()  # Beijing time as entered

        officer.goto(f"{site}/leaves")
        mine = officer.wait_for_selector("#pending tr:has-text('SS-0001')")
        assert mine is not None and "县司法局" in mine.inner_text()
        officer.click("#pending tr:has-text('SS-0001') button[data-decision=approve]")
        refusal = officer.wait_for_selector("#outcome.rejected")
        assert refusal is not None and "超过7日的请假须由县司法局审批" in refusal.inner_text()
        officer.screenshot(path=ARTIFACTS / f"leave-refused-{stem}.png")

        bureau = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
        log_in(bureau, "duty")
        bureau.goto(f"{site}/leaves")
        bureau.click("#pending tr:has-text('SS-0001') button[data-decision=approve]")
        bureau.wait_for_selector("#outcome.accepted")
        bureau.wait_for_selector("#pending tr:has-text('SS-0001')", state="detached")
        officer.goto(f"{site}/subjects/SS-0001")
        assert officer.wait_for_selector("#leaves tr:has-text('approved')") is not None
        browser.close()
