"""The command-center app: a FastAPI JSON API (OpenAPI at /api/openapi.json), a live alert
board pushed by server-sent events, and alert handling that goes to the workers as events.

Access rules live here, in the API: an officer sees and acts on their own office only.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from ccwatch.settings import Settings
from ccwatch.web import admin_api, mapdata, queries, register_api, users, users_api
from ccwatch.web.auth import (
    Denied,
    Principal,
    current,
    find_account,
    live_session,
    principal,
    require,
    verify,
)
from ccwatch.web.door import Door
from ccwatch.web.feed import ActionOutcome, AlertFeed
from ccwatch.web.headers import SecurityHeaders
from ccwatch.web.register_api import actor
from ccwatch.web.sessions import Live, SessionStore
from ccwatch.web.throttle import Attempt, Busy, Refusal, Throttle, ThrottlePolicy, Verifier
from models import labels
from models.access import Role
from models.events import AlertAction, AlertEvent, Rejection, decode, encode
from models.ids import derive_id
from models.reference import Zone
from register.core import Refused
from register.stats import period

HERE = Path(__file__).parent
User = Annotated[Principal, Depends(principal)]
LoggedIn = Annotated[Live, Depends(live_session)]  # also a user who must change their password
STREAM_CHECK_S = 5.0  # an open live feed checks its session at least this often


def page_templates() -> Jinja2Templates:
    """The pages' templates, every one autoescaped: they are named ``*.html.j2``, which
    Starlette's default (escape ``.html``, ``.htm`` and ``.xml`` only) would leave raw."""
    loader = jinja2.FileSystemLoader(HERE / "templates")
    return Jinja2Templates(env=jinja2.Environment(loader=loader, autoescape=True))


class Login(BaseModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(max_length=1024)]


Password = Annotated[
    str, Field(max_length=1024, description="15 to 256 characters, not a common one (docs/web.md)")
]


class NewUser(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    role: Role
    office_id: str | None = None
    password: Password
    must_change_password: bool = False


class NewPassword(BaseModel):
    current_password: Annotated[str, Field(max_length=1024)]
    new_password: Password


class NewPeriod(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    starts_at: datetime
    ends_at: datetime
    offices: list[str] = []


class ActionBody(BaseModel):
    assignee: str | None = None
    outcome: Literal["false_alarm", "verified_violation", "explained"] | None = None
    note: str = ""


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    engine = engine or settings.engine()
    feed = AlertFeed(
        settings.kafka_bootstrap, settings.topics, lambda o: queries.audit_outcome(engine, o)
    )

    throttle = Throttle(
        engine,
        ThrottlePolicy(
            delay_s=settings.login_delay_s,
            lockout_after=settings.login_lockout_after,
            lockout_s=settings.login_lockout_s,
        ),
    )
    verifier = Verifier(settings.login_concurrency, queue=8 * settings.login_concurrency)
    told: dict[str, datetime] = {}  # throttled refusals recorded: one entry per wait

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await feed.start()
        yield
        await feed.stop()
        verifier.close()

    app = FastAPI(
        title="ccwatch command center",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    store = SessionStore(
        engine,
        settings.web_idle_timeout_s,
        settings.web_absolute_timeout_s,
        settings.web_secure_cookie,
    )
    app.add_middleware(Door, max_body_bytes=settings.web_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.state.sessions = store
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    pages = page_templates()
    app.include_router(register_api.routes(engine, settings))
    app.include_router(admin_api.routes(engine, settings))
    app.include_router(users_api.routes(engine))

    # refusals ---------------------------------------------------------------------------
    @app.exception_handler(Denied)
    async def denied(request: Request, e: Denied) -> Response:
        """Every denial goes to the audit log, with the session's user (if any)."""
        live = await asyncio.to_thread(current, request, False)
        await asyncio.to_thread(
            queries.audit_denial,
            engine,
            live.who.id if live else "-",
            e.action,
            e.target or request.url.path,
            status=e.status_code,
            method=request.method,
            path=request.url.path,
            **e.extra,
        )
        return JSONResponse({"detail": e.detail}, e.status_code, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> Response:
        """422 with what was wrong; values JSON cannot carry (``1e999`` parses as infinity)
        are named, not echoed."""
        return JSONResponse({"detail": _finite(jsonable_encoder(e.errors()))}, 422)

    @app.exception_handler(DataError)
    async def bad_value(_: Request, e: DataError) -> Response:
        """A value the database cannot hold (too long, NUL): the request's fault. The
        message is not repeated (the engine hides statement parameters anyway)."""
        return JSONResponse({"detail": "a value is malformed or too long"}, 422)

    @app.exception_handler(IntegrityError)
    async def conflict(_: Request, e: IntegrityError) -> Response:
        return JSONResponse({"detail": "conflicts with the data held (unknown reference?)"}, 409)

    # pages ----------------------------------------------------------------------------
    def page(path: str, template: str, *roles: Role) -> None:
        """A page for the logged-in user (of one of ``roles``, if given); its data comes
        from the API, which checks the same."""

        @app.get(path, response_class=HTMLResponse, include_in_schema=False)
        async def show(request: Request) -> Any:
            return await render(request, template, roles)

    async def render(
        request: Request, template: str, roles: tuple[Role, ...] = (), **context: Any
    ) -> Any:
        """A page for the user of the session in force: else the log-in page; until a
        reset password is changed, the password page."""
        live = await asyncio.to_thread(current, request)
        if live is None:
            return RedirectResponse("/login")
        who = live.who
        if who.must_change_password and template != "password.html.j2":
            return RedirectResponse("/password")
        if roles and who.role not in roles:
            path = request.url.path
            await asyncio.to_thread(queries.audit_denial, engine, who.id, "page.denied", path)
            return RedirectResponse("/")
        me = {"user": who.id, "name": who.name, "role": who.role.value, "office": who.office_id}
        return pages.TemplateResponse(request, template, {"s": me, **context})

    page("/", "board.html.j2")
    page("/map", "map.html.j2")
    page("/stats", "stats.html.j2")
    page("/leaves", "leaves.html.j2")
    page("/periods", "periods.html.j2")
    page("/register", "register.html.j2")
    page("/admin", "admin.html.j2", Role.ADMIN)
    page("/password", "password.html.j2")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request) -> Any:
        return pages.TemplateResponse(request, "login.html.j2", {})

    # session --------------------------------------------------------------------------
    async def start(request: Request, response: Response, who: Principal) -> str:
        """A new session for ``who`` in the cookie (the browser's old one ends); its CSRF
        token."""
        session_id, csrf = await asyncio.to_thread(store.start, who.id, store.session_id(request))
        store.set_cookie(response, session_id)
        return csrf

    @app.post(
        "/api/login",
        tags=["session"],
        responses={
            401: {"description": "Wrong user name or password (the two are not told apart)."},
            429: {"description": "Too many failed log-ins: wait Retry-After seconds."},
        },
    )
    async def login(request: Request, response: Response, body: Login) -> Any:
        """Log in; the answer carries the CSRF token every POST must send as X-CSRF-Token.
        With ``must_change_password``, only changing it (``POST /api/me/password``), /api/me
        and log-out are allowed. Failed log-ins are throttled per account and per address
        (429 with Retry-After), and an account locked after too many (docs/web.md)."""
        address = request.client.host if request.client else "-"
        attempt = await asyncio.to_thread(throttle.begin, body.username, address)
        if isinstance(attempt, Refusal):
            return await _throttled(attempt, body.username, address)
        try:
            account = await asyncio.to_thread(find_account, engine, body.username)
            who = await verifier.run(verify, account, body.password)
        except Busy:
            await asyncio.to_thread(throttle.abandon, attempt)
            return _too_many("too many log-ins at once: try again in a moment", 1)
        if who is None:
            await _failed(attempt, address, known=account.who is not None)
            raise HTTPException(401, "wrong user name or password")
        await asyncio.to_thread(throttle.succeeded, attempt)
        token = await start(request, response, who)
        await asyncio.to_thread(queries.audit, engine, who, "login", who.id, address=address)
        return {
            "user": who.id,
            "role": who.role.value,
            "csrf": token,
            "must_change_password": who.must_change_password,
        }

    async def _throttled(refusal: Refusal, name: str, address: str) -> Response:
        wait = refusal.retry_after(throttle.clock())
        if told.get(refusal.key) != refusal.until:  # once per wait, not once per request
            if len(told) > 10_000:
                told.clear()
            told[refusal.key] = refusal.until
            await asyncio.to_thread(
                queries.audit_denial,
                engine,
                name,
                "login.throttled",
                name,
                address=address,
                by=refusal.by,
                locked=refusal.locked,
                until=refusal.until.isoformat(),
            )
        if refusal.locked:
            return _too_many(
                f"too many failed log-ins: the account is locked for {wait} s, or until an "
                "administrator unlocks it",
                wait,
                locked=True,
            )
        return _too_many(f"too many failed log-ins: try again in {wait} s", wait)

    async def _failed(attempt: Attempt, address: str, known: bool) -> None:
        """A wrong password (or no such user): audited without the password; too many lock
        the account."""
        name = attempt.user
        locked = await asyncio.to_thread(throttle.failed, attempt)
        await asyncio.to_thread(
            queries.audit_denial, engine, name, "login.failed", name, address=address, known=known
        )
        if locked:
            await asyncio.to_thread(
                queries.audit_denial,
                engine,
                name,
                "login.locked",
                name,
                address=address,
                until=locked.isoformat(),
            )

    @app.post("/api/logout", tags=["session"])
    async def logout(response: Response, live: LoggedIn) -> dict[str, Any]:
        """Log out: every session of the user ends, on every device."""
        ended = await asyncio.to_thread(store.end_all, live.who.id, "logged out")
        await asyncio.to_thread(
            queries.audit, engine, live.who, "logout", live.who.id, sessions_ended=ended
        )
        store.clear_cookie(response)
        return {"user": live.who.id, "sessions_ended": ended}

    @app.get("/api/me", tags=["session"])
    async def me(live: LoggedIn) -> dict[str, Any]:
        who = live.who
        return {
            "user": who.id,
            "name": who.name,
            "role": who.role.value,
            "office_id": who.office_id,
            "must_change_password": who.must_change_password,
            "csrf": live.csrf,
        }

    @app.post("/api/me/password", tags=["session"])
    async def change_password(
        request: Request, response: Response, body: NewPassword, live: LoggedIn
    ) -> dict[str, Any]:
        """Change one's own password, giving the current one: every session of the user
        ends, and this browser gets a new one (the answer's ``csrf``)."""
        try:
            await asyncio.to_thread(
                users.change_password,
                engine,
                live.who.id,
                body.current_password,
                body.new_password,
            )
        except Refused as refused:
            raise HTTPException(422, refused.as_dict()) from None
        token = await start(request, response, live.who)
        return {"user": live.who.id, "csrf": token}

    @app.get("/api/labels", tags=["session"])
    async def get_labels(_: User) -> dict[str, dict[str, dict[str, str]]]:
        """The labels of every code the pages show (group -> code -> ``{zh, en}``), from
        the one table the CLI and the reports use too (``models/labels.py``)."""
        return labels.as_json()

    # alerts ---------------------------------------------------------------------------
    @app.get("/api/alerts", tags=["alerts"])
    async def list_alerts(
        who: User,
        state: str = "open",
        zone: Zone | None = None,
        office: str | None = None,
        alert_type: Annotated[str | None, Query(alias="type")] = None,
    ) -> list[dict[str, Any]]:
        """Alerts of the caller's scope, most severe and oldest first."""
        return await asyncio.to_thread(queries.alerts, engine, who, state, zone, office, alert_type)

    @app.get("/api/alerts/stream", tags=["alerts"])
    async def stream(request: Request, who: User) -> StreamingResponse:
        """Server-sent events: each alert transition of the caller's scope as it happens.
        The stream ends when its session does (checked every few seconds; an open stream
        is not use of the session: it does not postpone the idle timeout)."""
        queue = feed.listen()
        session_id = store.session_id(request)
        loop = asyncio.get_running_loop()
        checked = loop.time()

        async def in_force() -> bool:
            nonlocal checked
            if loop.time() - checked < STREAM_CHECK_S:
                return True
            checked = loop.time()
            return await asyncio.to_thread(store.load, session_id, False) is not None

        async def events() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                while not await request.is_disconnected():
                    try:
                        item = await asyncio.wait_for(queue.get(), timeout=STREAM_CHECK_S)
                    except TimeoutError:
                        if not await in_force():
                            return
                        yield ": keep-alive\n\n"
                        continue
                    if not await in_force():
                        return
                    if isinstance(item, ActionOutcome):
                        if item.officer_id == who.id:  # each officer hears of their own
                            yield f"event: action\ndata: {json.dumps(asdict(item))}\n\n"
                    elif who.may_see(item.office_id):
                        yield f"event: alert\ndata: {json.dumps(_event_dict(item))}\n\n"
            finally:
                feed.leave(queue)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @app.post("/api/alerts/{alert_id}/{action}", tags=["alerts"], status_code=202)
    async def act(
        alert_id: str,
        action: Literal["acknowledge", "dispatch", "resolve"],
        body: ActionBody,
        who: User,
    ) -> dict[str, str]:
        """Acknowledge, dispatch or resolve: sent to the workers, who record the transition.
        The answer says it was requested; the outcome (accepted, or rejected with the
        reason) follows on the stream as an ``action`` event, and in the audit log."""
        found = await _alert_soon(engine, alert_id)
        if found is None:
            raise HTTPException(404, "no such alert")
        if not who.may_see(found.office_id):  # another office's alerts do not exist
            raise Denied(404, "no such alert", f"alert.{action}.denied", alert_id)
        now = datetime.now(UTC)
        event = AlertAction(
            event_id=derive_id("web-action", alert_id, action, who.id, now.isoformat()),
            subject_id=found.subject_id,
            alert_id=alert_id,
            action=action,
            officer_id=who.id,
            occurred_at=now,
            assignee=body.assignee,
            outcome=body.outcome,
            note=body.note,
        )
        checked = decode(encode(event), AlertAction)  # what the workers will accept
        if isinstance(checked, Rejection):
            raise HTTPException(422, {"reason": checked.reason, "detail": checked.detail})
        await feed.act(event)
        await asyncio.to_thread(
            queries.audit,
            engine,
            who,
            f"alert.{action}.requested",
            alert_id,
            subject=found.subject_id,
            action_id=event.event_id,
            note=body.note,
        )
        return {"requested": event.event_id}

    # subjects -------------------------------------------------------------------------
    @app.get("/api/subjects", tags=["subjects"])
    async def list_subjects(who: User, office: str | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(queries.subjects, engine, who, office)

    @app.get("/api/subjects/{subject_id}", tags=["subjects"])
    async def get_subject(subject_id: str, who: User) -> dict[str, Any]:
        """Profile, level, points balance and ledger with evidence, alerts, leave."""
        found = await _visible_subject(who, subject_id, "subject.denied")
        await asyncio.to_thread(queries.audit, engine, who, "subject.read", subject_id)
        return found

    @app.get("/api/subjects/{subject_id}/track", tags=["subjects"])
    async def get_track(
        subject_id: str,
        who: User,
        since: Annotated[datetime | None, Query(description="From (with its offset).")] = None,
        until: Annotated[datetime | None, Query(description="Before (with its offset).")] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[dict[str, Any]]:
        """The subject's fixes, newest first: the most recent ``limit``, or those of the
        window [since, until) (the map's playback). Every read of location history is
        audited, with its window."""
        if any(t is not None and t.tzinfo is None for t in (since, until)):
            raise HTTPException(422, "give times with their offset (+08:00)")
        if since is not None and until is not None and until <= since:
            raise HTTPException(422, "until must be after since")
        await _visible_subject(who, subject_id, "track.denied")
        window = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
        await asyncio.to_thread(queries.audit, engine, who, "track.read", subject_id, **window)
        return await asyncio.to_thread(mapdata.track, engine, subject_id, since, until, limit)

    async def _visible_subject(who: Principal, subject_id: str, denial: str) -> dict[str, Any]:
        """The subject, if the caller may see it; another office's subject does not exist
        for an officer (404, as for an unknown id), and the attempt is audited."""
        found = await asyncio.to_thread(queries.subject, engine, subject_id)
        if found is None:
            raise HTTPException(404, "no such subject")
        if not who.may_see(found["office_id"]):
            raise Denied(404, "no such subject", denial, subject_id, office=found["office_id"])
        return found

    @app.get("/api/geo", tags=["map"])
    async def get_geo(who: User) -> dict[str, Any]:
        """Islands, county, ways out and piers, offices, forbidden zones, approved leaves and
        last positions (with each subject's state), as GeoJSON."""
        await asyncio.to_thread(queries.audit, engine, who, "map.read", "positions")
        return await asyncio.to_thread(queries.geo, engine, who)

    # e-positioning approvals ------------------------------------------------------------
    @app.get("/api/positioning/expiring", tags=["subjects"])
    async def expiring_positioning(
        who: User, within_days: Annotated[int, Query(ge=0, le=92)] = 7
    ) -> list[dict[str, Any]]:
        """E-positioning approvals (art. 29) that end within ``within_days`` days and are
        not extended, of the caller's scope: positioning stops then unless extended."""
        await asyncio.to_thread(queries.audit, engine, who, "positioning.read", "expiring")
        return await asyncio.to_thread(
            queries.expiring_approvals, engine, who.office_scope, queries.today(), within_days
        )

    # security periods -----------------------------------------------------------------
    @app.get("/api/periods", tags=["security periods"])
    async def get_periods(who: User) -> dict[str, Any]:
        return await asyncio.to_thread(queries.periods, engine, who)

    # register -------------------------------------------------------------------------
    @app.get("/api/stats", tags=["register"])
    async def get_stats(
        who: User,
        month: Annotated[str | None, Query(description="Local month, YYYY-MM.")] = None,
        year: Annotated[str | None, Query(description="Local year, YYYY.")] = None,
        on: Annotated[date | None, Query(description="Count up to this local day.")] = None,
    ) -> dict[str, Any]:
        """Register statistics of the caller's scope for a month or a year (default: this
        month up to today): on register at the start, received, released by end reason, on
        register at the end; in total and by correction type, office and zone."""
        try:
            span, day = period(month, year, on, today=queries.today())
        except ValueError as e:
            raise HTTPException(422, str(e)) from None
        await asyncio.to_thread(
            queries.audit, engine, who, "stats.read", span.key, on=day.isoformat()
        )
        return await asyncio.to_thread(queries.register_stats, engine, who, span, day)

    @app.post("/api/users", tags=["admin"], status_code=201)
    async def add_user(body: NewUser, who: User) -> dict[str, str]:
        """Administrators create users (the password is hashed with argon2id); an id
        already taken is 409, never overwritten. ``must_change_password``: the password is
        a temporary one, to change at the first log-in."""
        require(who, Role.ADMIN)
        await users_api.run(
            lambda: users.create(
                engine,
                actor(who),
                body.id,
                body.name,
                body.role,
                body.office_id,
                body.password,
                body.must_change_password,
            )
        )
        return {"user": body.id}

    @app.post("/api/periods", tags=["admin"], status_code=201)
    async def add_period(body: NewPeriod, who: User) -> dict[str, str]:
        """Administrators declare security periods; workers apply them without a restart."""
        require(who, Role.ADMIN)
        if body.ends_at <= body.starts_at or body.starts_at.tzinfo is None:
            raise HTTPException(422, "give aware start and end times, the end after the start")
        period_id = await asyncio.to_thread(
            queries.save_period, engine, body.name, body.starts_at, body.ends_at, body.offices
        )
        await asyncio.to_thread(queries.audit, engine, who, "period.save", period_id)
        return {"period": period_id}

    @app.get("/subjects/{subject_id}", response_class=HTMLResponse, include_in_schema=False)
    async def subject_page(request: Request, subject_id: str) -> Any:
        return await render(request, "subject.html.j2", subject_id=subject_id)

    @app.get("/api/lockouts", tags=["admin"])
    async def lockouts(who: User) -> list[dict[str, Any]]:
        """Accounts locked now after failed log-ins (user names that do not exist too);
        ``POST /api/users/{id}/unlock`` lifts a lock-out."""
        require(who, Role.ADMIN)
        return await asyncio.to_thread(throttle.locked)

    @app.get("/api/audit", tags=["admin"])
    async def audit_log(
        who: User,
        user: Annotated[str | None, Query(max_length=64, description="Who acted.")] = None,
        subject: Annotated[
            str | None, Query(max_length=128, description="The subject acted on or read.")
        ] = None,
        action: Annotated[
            str | None,
            Query(max_length=64, description="An action (`login.failed`) or its kind (`login`)."),
        ] = None,
        before: Annotated[
            int | None, Query(ge=1, le=2**62, description="Entries older than this id (paging).")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first: every action, read of a subject's data, denial and
        security event. Administrators only; nobody can change it through the app."""
        require(who, Role.ADMIN)
        wanted = queries.AuditFilter(user, subject, action, before, limit)
        await asyncio.to_thread(
            queries.audit, engine, who, "audit.read", "audit_log", wanted=wanted.given()
        )
        return await asyncio.to_thread(queries.audit_entries, engine, wanted)

    return app


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _too_many(detail: str, wait: int, locked: bool = False) -> Response:
    """429: ``retry_after_s`` (also the Retry-After header) and whether the account is
    locked, for the log-in page to say so in Chinese."""
    body = {"detail": detail, "retry_after_s": wait, "locked": locked}
    return JSONResponse(body, 429, headers={"Retry-After": str(wait)})


async def _alert_soon(engine: Engine, alert_id: str, wait_s: float = 3.0) -> Any:
    """The alert's row; a page may show an alert (pushed live) a moment before the sink
    has written it, so wait briefly for it."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while (found := await asyncio.to_thread(queries.alert, engine, alert_id)) is None:
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(0.2)
    return found


def _event_dict(a: AlertEvent) -> dict[str, Any]:
    return {
        "alert_id": a.alert_id,
        "transition": a.transition,
        "alert_type": a.alert_type,
        "severity": a.severity,
        "subject_id": a.subject_id,
        "office_id": a.office_id,
        "zone": a.zone,
        "occurred_at": a.occurred_at.isoformat(),
        "sla_due": a.sla_due.isoformat() if a.sla_due else None,
        "reason_zh": a.reason_zh,
        "reason_en": a.reason_en,
        "actor": a.actor,
        "outcome": a.outcome,
        "assignee": a.assignee,
    }
