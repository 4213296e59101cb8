"""The board in real headless Chromium: log in, see a live alert appear without reloading,
acknowledge and resolve it, see the map; hostile text stays text on every page, under the
Content Security Policy. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session

from ccwatch.broker import free_port
from ccwatch.reference import shengsi
from ccwatch.web.app import create_app
from ccwatch.web.auth import hash_password
from models.access import LoginAttempts, Role, User
from models.events import AlertEvent, encode
from models.localtime import LOCAL_TZ, local
from models.records import Alert
from models.reference import CorrectionType, Office, SecurityPeriodRow, Subject, Zone
from register.core import Actor
from register.store import request_leave
from tests.integration.harness import REPO, System
from tests.integration.test_detection import fix
from tests.integration.webapp import alert

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ElementHandle, Page

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


def add_user(
    system: System, user_id: str, name: str, role: Role, office: str | None = None
) -> None:
    with Session(system.engine) as session, session.begin():
        session.merge(
            User(
                id=user_id,
                name=name,
                role=role,
                office_id=office,
                password_hash=hash_password(PASSWORD),
            )
        )


def alert_row(system: System, alert_id: str) -> Alert | None:
    with Session(system.engine) as session:
        return session.get(Alert, alert_id)


def backend(system: System) -> str:
    """sqlite or postgresql, for the screenshots' names."""
    return system.settings.database_url.split(":", 1)[0].split("+")[0]


def leave_the_county(page: Page, system: System, subject: str, n: int) -> ElementHandle:
    """A fix of ``subject`` off Qushan, outside the county, sent once the board listens
    (server-sent events); the high-severity alert's row on the board."""
    page.wait_for_timeout(1500)
    at = datetime.now(UTC) - timedelta(minutes=5)
    system.send(
        system.settings.topics.locations, subject.encode(), fix(n, subject, at, (30.40, 122.30))
    )
    row = page.wait_for_selector(f"tr.high:has-text('{subject}')", timeout=30_000)
    assert row is not None
    return row


def escalated_first(page: Page, alert_id: str) -> None:
    """The alert is among the escalated ones at the top of the board (other tests' alerts
    on the shared system may have passed their SLA too on a slow machine)."""
    rows = page.query_selector_all("#alerts tbody tr")
    ids = [r.get_attribute("data-alert") for r in rows]
    assert alert_id in ids, ids
    assert all("已升级" in r.inner_text() for r in rows[: ids.index(alert_id) + 1]), ids


def log_in(page: Page, site: str, user: str) -> None:
    page.goto(f"{site}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/")


@pytest.fixture(scope="module")
def site(system: System) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium")
        pytest.skip("no chromium on this machine")
    add_user(system, "duty", "值班员 duty officer", Role.COMMAND)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(system.settings, system.engine),
            host="127.0.0.1",
            port=port,
            log_level="warning",
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
    stem = backend(system)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        log_in(page, site, "duty")
        row = leave_the_county(page, system, "SS-0007", 1)
        assert "越界 out_of_bounds" in row.inner_text()
        page.screenshot(path=ARTIFACTS / f"board-live-alert-{stem}.png")

        row.query_selector("button[data-action=acknowledge]").click()  # type: ignore[union-attr]
        page.wait_for_selector("tr:has-text('SS-0007'):has-text('acknowledged')", timeout=30_000)
        page.wait_for_selector("#outcome.accepted:has-text('已受理')", timeout=30_000)
        page.click("tr:has-text('SS-0007') button[data-action=acknowledge]")  # once more
        refused = page.wait_for_selector("#outcome.rejected:has-text('被拒绝')", timeout=30_000)
        assert refused is not None and "already acknowledged" in refused.inner_text()
        answers = iter(["verified_violation", "电话核实"])
        page.on("dialog", lambda dialog: dialog.accept(next(answers)))
        page.click("tr:has-text('SS-0007') button[data-action=resolve]")
        page.wait_for_selector("tr:has-text('SS-0007')", state="detached", timeout=30_000)
        page.screenshot(path=ARTIFACTS / f"board-resolved-{stem}.png")

        page.goto(f"{site}/map")
        page.wait_for_selector("#map[data-ready=true] path.county", timeout=30_000)
        page.wait_for_selector("path.subject", timeout=30_000)
        page.screenshot(path=ARTIFACTS / f"map-{stem}.png")
        browser.close()


def test_a_leave_asked_on_the_subject_page_and_decided_on_the_leave_page(
    site: str, system: System
) -> None:
    from playwright.sync_api import sync_playwright

    add_user(system, "cy-browser", "菜园所干警", Role.OFFICER, "caiyuan")
    stem = backend(system)
    start = (datetime.now(UTC) + timedelta(days=2)).astimezone(LOCAL_TZ)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        officer = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
        log_in(officer, site, "cy-browser")
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
        log_in(bureau, site, "duty")
        bureau.goto(f"{site}/leaves")
        bureau.click("#pending tr:has-text('SS-0001') button[data-decision=approve]")
        bureau.wait_for_selector("#outcome.accepted")
        bureau.wait_for_selector("#pending tr:has-text('SS-0001')", state="detached")
        officer.goto(f"{site}/subjects/SS-0001")
        assert officer.wait_for_selector("#leaves tr:has-text('approved')") is not None
        browser.close()


def test_a_subject_taken_in_on_the_register_page_then_given_an_order_on_its_page(
    site: str, system: System
) -> None:
    from playwright.sync_api import Dialog, sync_playwright

    add_user(system, "cy-register", "菜园所干警", Role.OFFICER, "caiyuan")
    stem = backend(system)
    today = datetime.now(LOCAL_TZ).date()
    hostile = "李四 <img src=x onerror=alert(1)>"
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()

        def seen(dialog: Dialog) -> None:  # an alert() would be script run from user text
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", seen)
        log_in(page, site, "cy-register")

        page.goto(f"{site}/register")
        intake = {
            "subject_id": "SS-9101", "name": hostile, "decided_by": "嵊泗县人民法院",
            "decision_no": "(2026)浙0922刑初101号", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(), "officer_id": "O-caiyuan-1",
            "home_lat": "30.716", "home_lon": "122.461", "devices": "P-SS-9101",
        }  # fmt: skip
        for name, value in intake.items():
            page.fill(f"#intake-form [name={name}]", value)
        page.select_option("#intake-form [name=correction_type]", "probation")
        assert page.input_value("#intake-form [name=office_id]") == "caiyuan"  # their office
        page.click("#intake-form button[type=submit]")
        assert "已完成 Done" in page.wait_for_selector("#outcome.accepted").inner_text()  # type: ignore[union-attr]
        row = page.wait_for_selector("#subjects tr:has-text('SS-9101')")
        assert row is not None and hostile in row.inner_text() and "缓刑" in row.inner_text()
        assert page.query_selector("img") is None  # text, not HTML
        page.click("#subjects a:text-is('SS-9101')")
        page.wait_for_url(f"{site}/subjects/SS-9101")
        page.wait_for_selector(f"#title:has-text('{hostile}')")

        order = {
            "document": "(2026)浙0922刑初101号禁止令", "issued_by": "嵊泗县人民法院",
            "starts_on": today.isoformat(), "zone_name": "网吧 <b>cafe</b>", "zone_lat": "30.72",
            "zone_lon": "122.45", "zone_radius_m": "80", "curfew_from_hour": "22",
            "curfew_to_hour": "6", "curfew_radius_m": "200",
        }  # fmt: skip
        page.select_option("#place", label="菜园镇网吧 Caiyuan internet cafe")  # a known place
        assert page.input_value("#order-form [name=zone_radius_m]") == "60"
        assert page.input_value("#order-form [name=zone_lat]") == "30.7165"
        for attempt in ("accepted", "rejected"):  # the same order again is refused
            for name, value in order.items():
                page.fill(f"#order-form [name={name}]", value)
            page.click("#order-form button[type=submit]")
            outcome = page.wait_for_selector(f"#outcome.{attempt}")
        assert outcome is not None
        assert outcome.inner_text() == "该禁止令已登记 (this order is already on the register)"
        issued = page.wait_for_selector("#orders tr:has-text('浙0922刑初101号禁止令')")
        assert issued is not None
        assert "22-6时 h, 200 m" in issued.inner_text()  # the curfew, local hours
        assert "网吧 <b>cafe</b> (全天 all day)" in issued.inner_text()
        assert page.query_selector("#orders b, img") is None and dialogs == []
        page.screenshot(path=ARTIFACTS / f"register-order-{stem}.png", full_page=True)

        def submit(form: str, values: dict[str, str], attempt: str = "accepted") -> str:
            for name, value in values.items():
                field = f"#{form} [name={name}]"
                if name == "reason" and form != "lift-form":
                    page.select_option(field, value)
                else:
                    page.fill(field, value)
            page.click(f"#{form} button[type=submit]")
            shown = page.wait_for_selector(f"#outcome.{attempt}")
            assert shown is not None
            return shown.inner_text()

        day = timedelta(days=1)
        approval = {
            "reason": "prohibition_order",
            "approved_by": "县司法局局长",
            "starts_on": today.isoformat(),
            "ends_on": (today + 120 * day).isoformat(),
        }
        assert "三个月" in submit("positioning-form", approval, "rejected")  # over the limit
        submit("positioning-form", approval | {"ends_on": (today + 60 * day).isoformat()})
        assert page.wait_for_selector("#positioning tr:has-text('县司法局局长')") is not None
        release = {
            "on": (today + 30 * day).isoformat(),
            "reason": "revoked",
            "document": "(2026)收监101号",
        }
        submit("release-form", release)
        page.wait_for_selector("#register:has-text('(2026)收监101号')")
        submit("transfer-form", {"office_id": "gouqi", "officer_id": "O-gouqi-1"})
        page.reload()  # another office's subject now: not found for this officer
        page.wait_for_selector("#profile:has-text('404')")
        assert dialogs == []
        browser.close()


def test_a_hostile_display_name_and_alert_stay_text_on_every_page_under_the_policy(
    site: str, system: System
) -> None:
    """A display name, an alert's reason and an office's name that are script: on the
    board (live and loaded), the map and every other page they show as text, no dialog
    fires, and Chromium reports no Content Security Policy violation on ccwatch's pages;
    markup slipped into a page all the same runs no handler (the policy forbids inline
    script)."""
    from playwright.sync_api import Dialog, sync_playwright

    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>{{7*7}}'
    add_user(system, "evil", hostile, Role.ADMIN)
    with Session(system.engine) as session, session.begin():
        session.merge(
            Office(id="x-office", name_zh=hostile, name_en="x", zone=Zone.EAST, lat=30.7, lon=122.5)
        )
    raised = msgspec.structs.replace(
        alert(9, "caiyuan", "SS-0001"),
        transition_id=uuid.uuid4().hex,
        alert_id=f"a-{uuid.uuid4().hex}",
        alert_type="home_curfew",
        rule="home_curfew/1",
        reason_zh=hostile,
        reason_en=hostile,
    )
    stem = backend(system)
    dialogs: list[str] = []
    violations: list[str] = []  # what Chromium reports (and logs in its console) as blocked
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})

        def seen(dialog: Dialog) -> None:  # an alert() would be script run from user text
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", seen)
        page.expose_function("cspViolation", lambda found: violations.append(found))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => window.cspViolation("
            "`${e.documentURI} ${e.effectiveDirective} ${e.blockedURI} ${e.sample}`));"
        )
        log_in(page, site, "evil")
        page.wait_for_timeout(1500)  # the board is listening (server-sent events)
        assert page.inner_text("header span").startswith(hostile)
        system.send(system.settings.topics.alerts, b"SS-0001", encode(raised))
        row = page.wait_for_selector(f"tr[data-alert='{raised.alert_id}']", timeout=30_000)
        assert row is not None and hostile in row.inner_text()  # pushed live, shown as text
        page.screenshot(path=ARTIFACTS / f"hostile-board-{stem}.png")

        system.wait_for("the alert in the database", lambda: alert_row(system, raised.alert_id))
        page.reload()  # the same alert, loaded from the database the worker wrote
        row = page.wait_for_selector(f"tr[data-alert='{raised.alert_id}']", timeout=30_000)
        assert row is not None and hostile in row.inner_text()
        assert page.query_selector("img, body script:not([src])") is None

        page.goto(f"{site}/map")
        page.wait_for_selector("#map[data-ready=true] path.county", timeout=30_000)
        assert page.inner_text("header span").startswith(hostile)
        offices = [t.text_content() for t in page.query_selector_all(".office-label .zh")]
        assert offices.count(hostile) == 1  # the office's name, as text
        assert page.query_selector("img, svg script") is None
        page.screenshot(path=ARTIFACTS / f"hostile-map-{stem}.png")

        for path, ready in [
            ("/subjects/SS-0001", "#history tbody tr"),
            ("/register", "#subjects tbody tr"),
            ("/leaves", "#pending"),
            ("/periods", "#zero"),
            ("/stats", "#stats tbody tr"),
            ("/admin", "#offices tbody tr"),
        ]:
            page.goto(f"{site}{path}")
            page.wait_for_selector(ready, timeout=30_000)
            page.wait_for_timeout(300)  # the page's scripts have run
            assert page.query_selector("img") is None, path
        assert hostile in page.inner_text("#offices")  # the office's name, as text
        assert dialogs == [] and violations == []

        # Markup that reached a page anyway (a future mistake) runs no inline handler.
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<img src=/x onerror=alert(3)>')"
        )
        page.wait_for_timeout(500)
        assert dialogs == []
        assert [v.split()[1:3] for v in violations] == [["script-src-attr", "inline"]]
        browser.close()


def test_a_locked_account_is_told_its_wait_and_an_administrator_reads_the_log_and_unlocks(
    site: str, system: System
) -> None:
    """Issue 13, items 3 and 4 in the app: the log-in page tells a locked-out user how long
    to wait (in Chinese, from the 429); the administration page lists the lock-out, lifts
    it with one click, and reads the audit log filtered by user and by action."""
    from playwright.sync_api import sync_playwright

    add_user(system, "trier", "试用者 trier", Role.OFFICER, "caiyuan")
    add_user(system, "boss", "管理员 boss", Role.ADMIN)
    until = datetime.now(UTC) + timedelta(minutes=15)
    with Session(system.engine) as session, session.begin():
        session.merge(
            LoginAttempts(
                key="user:trier",
                failures=10,
                last_at=datetime.now(UTC),
                retry_at=until,
                locked_until=until,
            )
        )
    stem = backend(system)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{site}/login")
        page.fill("input[name=username]", "trier")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        told = page.wait_for_selector("#error:has-text('锁定')", timeout=10_000)
        assert told is not None and "15 分钟" in told.inner_text(), told and told.inner_text()

        log_in(page, site, "boss")
        page.goto(f"{site}/admin")
        row = page.wait_for_selector("#lockouts tr:has-text('trier')", timeout=10_000)
        assert row is not None
        row.query_selector("button").click()  # type: ignore[union-attr]
        page.wait_for_selector("#lockouts tr:has-text('trier')", state="detached", timeout=10_000)

        page.fill("#audit-form input[name=user]", "trier")
        page.click("#audit-form button[type=submit]")
        page.wait_for_function(  # the search's answer, not the first page still shown
            """() => { const rows = [...document.querySelectorAll("#audit tbody tr")];
              return rows.some((r) => r.innerText.includes("login.throttled"))
                && rows.every((r) => r.innerText.includes("trier")); }""",
            timeout=10_000,
        )
        page.fill("#audit-form input[name=user]", "")
        page.fill("#audit-form input[name=action]", "user.unlock")
        page.click("#audit-form button[type=submit]")
        entry = page.wait_for_selector("#audit tbody tr:has-text('user.unlock')", timeout=10_000)
        assert entry is not None and "boss" in entry.inner_text() and "trier" in entry.inner_text()
        assert "+00:00" not in page.inner_text("#lockouts, #audit")  # local times only
        page.screenshot(path=ARTIFACTS / f"admin-audit-{stem}.png", full_page=True)

        other = browser.new_page()
        log_in(other, site, "trier")  # lifted: the right password works again
        browser.close()


def map_scene(system: System) -> list[tuple[datetime, float, float]]:
    """Every demo subject at home ten minutes ago; an escalated alert of SS-0013 and an open
    one of SS-0020; SS-0003 on leave in Shanghai; and SS-0013's walk across Sijiao
    yesterday morning, six fixes (local 08:00 to 08:50), returned oldest first."""
    from models.records import Position
    from models.reference import LeavePermit, LeaveStatus
    from streams.sink import DatabaseSink

    now = datetime.now(UTC)
    day = (now.astimezone(LOCAL_TZ) - timedelta(days=1)).date()
    start = datetime(day.year, day.month, day.day, 8, tzinfo=LOCAL_TZ)
    walk = [
        (start + timedelta(minutes=10 * i), 30.712 + 0.002 * i, 122.44 + 0.008 * i)
        for i in range(6)
    ]
    ref = shengsi()
    DatabaseSink(system.engine).write_alerts(
        [
            msgspec.structs.replace(alert(61, "wulong", "SS-0013"), alert_id="a-map-61"),
            msgspec.structs.replace(alert(62, "huanglong", "SS-0020"), alert_id="a-map-62"),
        ]
    )
    with Session(system.engine) as session, session.begin():
        session.get_one(Alert, "a-map-61").escalated = True
        for p in ref.subjects:
            at = now - timedelta(minutes=10)
            session.merge(
                Position(
                    id=f"map-{p.id}", subject_id=p.id, at=at, lat=p.home_lat, lon=p.home_lon,
                    accuracy_m=25.0, source="gps",
                )
            )  # fmt: skip
        for i, (at, lat, lon) in enumerate(walk):
            session.merge(
                Position(
                    id=f"walk-{i}", subject_id="SS-0013", at=at, lat=lat, lon=lon,
                    accuracy_m=10.0, source="gps",
                )
            )  # fmt: skip
        session.merge(
            LeavePermit(
                id="leave-map-SS-0003", subject_id="SS-0003", starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=3), destination="上海 Shanghai",
                status=LeaveStatus.APPROVED, approved_at=now - timedelta(days=2),
            )
        )  # fmt: skip
    return walk


OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.map-label')].filter((e) => !e.hidden)
    .map((e) => [e.textContent, e.getBoundingClientRect()]);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, r] = boxes[i], [b, q] = boxes[j];
    const apart = r.right <= q.left + 1 || q.right <= r.left + 1
      || r.bottom <= q.top + 1 || q.bottom <= r.top + 1;
    if (!apart) out.push(`${a} / ${b}`);
  }
  return out;
}"""


def test_the_map_in_chinese_layers_zoom_and_track_playback(site: str, system: System) -> None:
    """Issue 14, item 1: a real map in zh-CN and Beijing time: the islands by name, piers,
    ways out and ferry lanes, offices, subjects coloured by state with labels that do not
    overlap, forbidden zones and a leave's destination; zooming in changes the scale; a
    subject's track for a window plays back through its fixes; no policy violation."""
    from playwright.sync_api import sync_playwright

    walk = map_scene(system)
    stem = backend(system)
    violations: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1400, "height": 900}
        )
        page = context.new_page()
        page.expose_function("cspViolation", lambda found: violations.append(found))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => window.cspViolation("
            "`${e.effectiveDirective} ${e.blockedURI}`));"
        )
        log_in(page, site, "duty")
        page.goto(f"{site}/map")
        page.wait_for_selector("#map[data-ready=true] path.county", timeout=30_000)

        def texts(selector: str) -> list[str]:
            return [e.inner_text() for e in page.query_selector_all(selector)]

        assert len(page.query_selector_all("path.island")) >= 10
        islands = texts(".island-label")
        for name in ("泗礁山 Sijiao", "嵊山岛 Shengshan", "枸杞岛 Gouqi", "花鸟山 Huaniao"):
            assert any(name in t for t in islands), islands
        assert any("李柱山码头" in t for t in texts(".port-label"))
        assert len(page.query_selector_all("path.port")) >= 8
        exits = texts(".exit-label")
        assert any("芦潮港" in t for t in exits) and any("东海大桥" in t for t in exits), exits
        assert any("航线" in t for t in exits)  # the ferry lane
        assert "菜园镇司法所" in texts(".office-label .zh")
        assert len(page.query_selector_all("path.subject")) >= 38
        assert page.query_selector("path.subject.escalated[data-subject='SS-0013']")
        assert page.query_selector("path.subject.alert[data-subject='SS-0020']")
        assert page.query_selector("path.subject.normal[data-subject='SS-0002']")
        assert len(page.query_selector_all("path.forbidden")) >= 2
        assert any("SS-0003" in t and "上海" in t for t in texts(".leave-label"))
        assert page.query_selector("path.leave")
        labels = {
            e.get_attribute("data-subject")
            for e in page.query_selector_all(".subject-label:not([hidden])")
        }
        assert {p.id for p in shengsi().subjects} <= labels
        assert page.evaluate(OVERLAPS) == []
        assert page.inner_text("body").count("Asia/Shanghai") == 1  # the zone, said once
        page.screenshot(path=ARTIFACTS / f"map-zh-{stem}.png")

        scale = page.inner_text(".leaflet-control-scale-line")
        page.click(".leaflet-control-zoom-in")
        page.wait_for_function(
            "(s) => document.querySelector('.leaflet-control-scale-line').textContent !== s",
            arg=scale,
        )
        page.wait_for_timeout(500)  # labels laid out again
        assert page.evaluate(OVERLAPS) == []
        page.screenshot(path=ARTIFACTS / f"map-zh-zoomed-{stem}.png")

        page.select_option("#track-subject", "SS-0013")
        page.fill("#track-since", f"{walk[0][0]:%Y-%m-%dT%H:%M}")
        page.fill("#track-until", f"{walk[-1][0] + timedelta(minutes=1):%Y-%m-%dT%H:%M}")
        page.click("#track-load")
        page.wait_for_selector("#track[data-count='6']", timeout=10_000)
        assert page.query_selector("path.track-line")
        for i in (0, 3, 5, 1):
            page.fill("#track-slider", str(i))
            at, lat, lon = walk[i]
            assert f"{at:%H:%M:%S}" in page.inner_text("#track-at")
            shown = page.eval_on_selector(
                "#track", "(e) => [Number(e.dataset.lat), Number(e.dataset.lon)]"
            )
            assert shown == pytest.approx([lat, lon])
        page.fill("#track-slider", "0")
        start = page.query_selector("path.track-marker").bounding_box()  # type: ignore[union-attr]
        page.click("#track-play")
        page.wait_for_selector("#track[data-index='5']", timeout=15_000)
        end = page.query_selector("path.track-marker").bounding_box()  # type: ignore[union-attr]
        assert start and end and end["x"] > start["x"] + 20  # walked east
        assert f"{walk[-1][0]:%H:%M:%S}" in page.inner_text("#track-at")
        page.screenshot(path=ARTIFACTS / f"map-zh-track-{stem}.png")
        assert violations == []


RAW_TIME = re.compile(r"\d{4}-\d\d-\d\dT|\+00:00|\d\d:\d\d(:\d\d(\.\d+)?)?Z\b")
LOCAL = "Asia/Shanghai"  # each page with times says they are Beijing time


def zh_cn(browser: Browser) -> Page:
    """A page as a new user with a Chinese browser in Beijing sees it."""
    context = browser.new_context(
        locale="zh-CN", timezone_id=LOCAL, viewport={"width": 1280, "height": 900}
    )
    return context.new_page()


def raise_alert(system: System, subject: str, office: str, **fields: Any) -> AlertEvent:
    """An alert published as the workers would, and written by the sink."""
    raised = msgspec.structs.replace(
        alert(0, office, subject),
        transition_id=uuid.uuid4().hex,
        alert_id=f"a-{uuid.uuid4().hex}",
        **fields,
    )
    system.send(system.settings.topics.alerts, subject.encode(), encode(raised))
    system.wait_for("the alert in the database", lambda: alert_row(system, raised.alert_id))
    return raised


def test_every_page_in_a_chinese_browser_shows_local_times_and_chinese_labels(
    site: str, system: System
) -> None:
    """Issue 14: a zh-CN browser in Beijing sees no UTC or ISO time on any page (the zone is
    said on the page), and codes with their Chinese labels (越界, 缓刑...)."""
    from playwright.sync_api import sync_playwright

    add_user(system, "zh-admin", "管理员 zh", Role.ADMIN)
    with Session(system.engine) as session:
        probation = session.scalars(
            select(Subject)
            .where(Subject.correction_type == CorrectionType.PROBATION)
            .order_by(Subject.id)
        ).first()
        assert probation is not None
        subject, office = probation.id, probation.office_id
    opened = datetime(2026, 12, 1, 5, 50, tzinfo=UTC)  # 13:50 in Beijing
    raise_alert(system, subject, office, occurred_at=opened, sla_due=opened)
    now = datetime.now(UTC)
    start = (now - timedelta(days=1)).replace(hour=5, minute=50, second=0, microsecond=0)
    period = SecurityPeriodRow(
        id=f"p-{uuid.uuid4().hex[:8]}", name="测试安保期", starts_at=start,
        ends_at=now + timedelta(days=1), offices=["huaniao"],
    )  # fmt: skip
    with Session(system.engine) as session, session.begin():
        session.add(period)
    request_leave(
        system.engine, Actor("test"), subject, now + timedelta(days=3),
        now + timedelta(days=4), "舟山 Zhoushan",
    )  # fmt: skip
    pages = [
        ("/", "#alerts tbody tr", ["越界 out_of_bounds", "中 medium", "待签收 open"]),
        (f"/subjects/{subject}", "#history tbody tr", ["缓刑 probation", "越界 out_of_bounds"]),
        ("/register", "#subjects tbody tr", ["缓刑 probation"]),
        ("/leaves", "#pending tbody tr", ["司法所 office"]),
        ("/periods", "#active:has-text('测试安保期')", [f"{local(start):%H:%M}", "签收时限"]),
        ("/stats?by=type", "#stats tbody tr", ["缓刑 probation"]),
        ("/admin", "#users tbody tr", ["管理员 admin", "东部 east"]),
        ("/password", "#password-form", []),
    ]
    stem = backend(system)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = zh_cn(browser)
            log_in(page, site, "zh-admin")
            for path, ready, wanted in pages:
                page.goto(f"{site}{path}")
                page.wait_for_selector(ready, timeout=30_000)
                page.wait_for_timeout(500)  # the page's scripts have run
                text = page.inner_text("body")
                name = path.strip("/").split("?")[0].replace("/", "-") or "board"
                page.screenshot(path=ARTIFACTS / f"zh-{name}-{stem}.png", full_page=True)
                assert not RAW_TIME.search(text), (path, RAW_TIME.findall(text), text)
                for label in wanted:
                    assert label in text, (path, label, text)
                if path != "/password":  # the one page without times
                    assert LOCAL in text, path
            page.goto(f"{site}/subjects/{subject}")
            row = page.wait_for_selector("#history tbody tr:has-text('越界')")
            assert row is not None and "2026/12/1 13:50" in row.inner_text()

            page.goto(f"{site}/periods")  # a period entered in Beijing time
            page.fill("#period-form [name=name]", "两会测试")
            page.fill("#period-form [name=starts_at]", "2027-03-03T00:00")
            page.fill("#period-form [name=ends_at]", "2027-03-12T00:00")
            page.click("#period-form button[type=submit]")
            page.wait_for_selector("#outcome.accepted")
            browser.close()
        with Session(system.engine) as session:
            saved = session.scalars(
                select(SecurityPeriodRow).where(SecurityPeriodRow.name == "两会测试")
            ).one()
            starts = saved.starts_at  # naive in SQLite: UTC
            assert starts.replace(tzinfo=starts.tzinfo or UTC) == datetime(
                2027, 3, 2, 16, tzinfo=UTC
            )
    finally:
        with Session(system.engine) as session, session.begin():
            session.merge(period).ends_at = datetime.now(UTC)


def test_the_banner_clears_when_acknowledged_and_an_escalated_alert_comes_first(
    site: str, system: System
) -> None:
    """Issue 14: the new-alert banner clears when its alert is acknowledged; an escalated
    alert is marked 已升级 and sorted first, above more severe ones."""
    from playwright.sync_api import sync_playwright

    add_user(system, "zh-duty", "值班员 zh", Role.COMMAND)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    escalated = raise_alert(
        system, "SS-0003", "caiyuan", alert_type="missed_checkin", rule="missed_checkin/1",
        severity="medium", occurred_at=long_ago + timedelta(hours=1), sla_due=long_ago,
    )  # fmt: skip
    system.send(
        system.settings.topics.alerts,
        b"SS-0003",
        encode(
            msgspec.structs.replace(
                escalated, transition_id=uuid.uuid4().hex, transition="escalated",
                assignee="command",
            )
        ),
    )  # fmt: skip
    system.wait_for(
        "the escalation in the database",
        lambda: (row := alert_row(system, escalated.alert_id)) is not None and row.escalated,
    )
    raise_alert(system, "SS-0002", "caiyuan", occurred_at=long_ago)  # high, older
    stem = backend(system)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = zh_cn(browser)
        log_in(page, site, "zh-duty")
        page.wait_for_selector(f"tr[data-alert='{escalated.alert_id}']", timeout=30_000)
        escalated_first(page, escalated.alert_id)
        assert "已升级 escalated" in page.inner_text(f"tr[data-alert='{escalated.alert_id}']")
        row = leave_the_county(page, system, "SS-0005", 2)
        banner = page.wait_for_selector("#flash", state="visible")
        assert banner is not None and "SS-0005" in banner.inner_text()
        page.screenshot(path=ARTIFACTS / f"board-banner-escalated-{stem}.png", full_page=True)
        row.query_selector("button[data-action=acknowledge]").click()  # type: ignore[union-attr]
        page.wait_for_selector("#outcome.accepted:has-text('已受理')", timeout=30_000)
        page.wait_for_selector("#flash", state="hidden", timeout=10_000)
        escalated_first(page, escalated.alert_id)
        page.screenshot(path=ARTIFACTS / f"board-acknowledged-{stem}.png", full_page=True)
        browser.close()
