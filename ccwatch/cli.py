"""The ``ccwatch`` command: run everything, or each part alone."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table
from rich.text import Text
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ccwatch import printing
from ccwatch.broker import EmbeddedBroker
from ccwatch.database_ready import check_before
from ccwatch.printing import CurrentConsole, cli_console, progress
from ccwatch.processes import uninterrupted
from ccwatch.register_cli import (
    leave_app,
    office_app,
    order_app,
    positioning_app,
    subject_app,
    terminal_app,
)
from ccwatch.settings import Settings
from ccwatch.users_cli import users_app
from models import labels
from models.localtime import LOCAL_TZ
from register.stats import Grouping

if TYPE_CHECKING:
    from ccwatch.demo import History

app = typer.Typer(
    help="ccwatch: community-correction supervision over Kafka.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a traceback never shows settings or passwords
)
db_app = typer.Typer(help="Database: migrations and reference data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(subject_app, name="subject")
app.add_typer(leave_app, name="leave")
app.add_typer(order_app, name="order")
app.add_typer(positioning_app, name="positioning")
app.add_typer(office_app, name="office")
app.add_typer(terminal_app, name="terminal")
console = CurrentConsole()


def main() -> None:
    check_before(sys.argv[1:])  # a missing database said plainly, before it is created
    app()


@contextlib.contextmanager
def _broker(settings: Settings) -> Iterator[Settings]:
    """Settings pointing at a broker: the configured one, or an embedded one for the block."""
    if settings.kafka_bootstrap:
        yield settings
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(log_path=settings.data_dir / "tansu.log").start()
    console.print(f"embedded broker (tansu) on {broker.bootstrap}", style="cyan")
    try:
        # Its topics live in its memory and end with it: tables on disk would outlive them.
        yield settings.model_copy(
            update={"kafka_bootstrap": broker.bootstrap, "table_store": "memory"}
        )
    finally:
        with uninterrupted():  # last: what read from it has stopped
            broker.stop()


def _require_broker(settings: Settings) -> None:
    if not settings.kafka_bootstrap:
        console.print("set CCWATCH_KAFKA_BOOTSTRAP (or use `ccwatch run`)", style="red")
        raise typer.Exit(2)


def _yesterday() -> date:
    from models.localtime import LOCAL_TZ

    return datetime.now(LOCAL_TZ).date() - timedelta(days=1)


@app.command()
def settings() -> None:
    """Print the settings in force (from CCWATCH_* environment variables), without the
    database password."""
    for name, value in Settings().shown().items():
        console.print(f"CCWATCH_{name.upper()}={value}", markup=False, highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run the Alembic migrations up to the latest revision."""
    from models.db import migrate

    migrate(Settings().database_url)
    console.print("database at head")


@db_app.command("seed")
def db_seed() -> None:
    """Load the Shengsi reference data (offices, officers, terminals, subjects, county)."""
    from ccwatch.seed import seed
    from models.db import make_engine

    n = seed(make_engine(Settings().database_url))
    console.print(f"seeded 7 offices and {n} subjects")


@app.command()
def schemas(out: Path = Path("docs/schemas")) -> None:
    """Write the wire contract's JSON Schema files."""
    import json

    from models.events import json_schemas

    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")
        console.print(f"wrote {path}")


@app.command()
def broker() -> None:
    """Run the embedded broker alone until interrupted."""
    with _broker(Settings(kafka_bootstrap="")) as s:
        console.print(f"export CCWATCH_KAFKA_BOOTSTRAP={s.kafka_bootstrap}")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


@app.command()
def worker() -> None:
    """Run a stream worker (starts the embedded broker if no address is set)."""
    from streams.app import run_worker

    with _broker(Settings()) as s:
        run_worker(s)


@app.command()
def simulate(
    day: Annotated[str, typer.Option("--date", help="Last local day, YYYY-MM-DD.")] = "",
    days: Annotated[int, typer.Option(help="Days to simulate, ending on --date.")] = 1,
    seed: int = 7,
    speed: Annotated[float, typer.Option(help="Event time per wall time; 0: no pause.")] = 0,
    faults: Annotated[bool, typer.Option(help="Include faulty records.")] = True,
    to_file: Annotated[
        Path | None, typer.Option(help="Write the events to this JSON-lines log instead.")
    ] = None,
    upload_every_s: Annotated[
        int, typer.Option(help="Phones upload their fixes in batches this often; 0: singly.")
    ] = 0,
) -> None:
    """Send simulated days of terminal events to the broker (or write them to a file)."""
    from ccwatch.keys import keyring
    from models.db import make_engine
    from streams.replay import write_log
    from terminals.producer import log_records, make_producer, send_events
    from terminals.simulator import simulate_days

    s = Settings()
    last = date.fromisoformat(day) if day else _yesterday()
    keys = keyring(make_engine(s.database_url))  # the terminals' and phones' own keys
    if not keys:
        console.print("no device keys in the database: run `ccwatch db seed` first", style="red")
        raise typer.Exit(2)
    events = simulate_days(last, days, seed, faults=faults, keys=keys)
    if upload_every_s > 0:
        from terminals.simulator import batched

        events = batched(events, timedelta(seconds=upload_every_s), keys)
    if to_file:
        with progress() as bar:
            records = bar.track(log_records(s.topics, events), len(events), description="writing")
            n = write_log(to_file, records)
        console.print(f"wrote {n} events to {to_file}")
        return
    _require_broker(s)
    n = send_events(make_producer(s.kafka_bootstrap), s.topics, events, speed)
    console.print(f"sent {n} events")


@app.command()
def close(
    month: Annotated[str, typer.Option(help="Local month to close, YYYY-MM.")],
    by: Annotated[str, typer.Option(help="Who asks (recorded).")] = "cli",
) -> None:
    """Close a month now (base points, caps, requirements, reviews); repeats are no-ops.
    The close is recorded in the database first: from then on, events of the month are
    booked in the first open month (docs/scoring.md)."""
    from models.closes import record_close
    from models.db import make_engine
    from streams.control import request_close

    s = Settings()
    _require_broker(s)
    record_close(make_engine(s.database_url), month, by, datetime.now(UTC))
    request_close(s.kafka_bootstrap, s.topics, s.partitions, month, by)
    console.print(f"asked all {s.partitions} partitions to close {month}")


@app.command()
def decide(
    recommendation: Annotated[str, typer.Argument(help="Recommendation id.")],
    officer: Annotated[str, typer.Option(help="Officer id, recorded with the decision.")],
    confirm: Annotated[bool, typer.Option("--confirm/--reject")] = True,
    note: str = "",
) -> None:
    """Confirm or reject a recommendation (sent as a decision event)."""
    from kafka import KafkaProducer

    from models.db import make_engine
    from models.events import Decision, encode
    from models.ids import derive_id
    from models.records import RecommendationRow

    s = Settings()
    _require_broker(s)
    with Session(make_engine(s.database_url)) as session:
        rec = session.get(RecommendationRow, recommendation)
    if rec is None:
        console.print(f"no recommendation {recommendation}", style="red")
        raise typer.Exit(1)
    now = datetime.now(UTC)
    decision = Decision(
        event_id=derive_id("decision", recommendation, officer, now.isoformat()),
        subject_id=rec.subject_id,
        recommendation_id=recommendation,
        decision="confirmed" if confirm else "rejected",
        officer_id=officer,
        occurred_at=now,
        note=note,
    )
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    producer.send(s.topics.decisions, key=rec.subject_id.encode(), value=encode(decision))
    producer.flush()
    console.print(f"{decision.decision}: {rec.kind} for {rec.subject_id} by {officer}")


@app.command()
def report(
    month: Annotated[str, typer.Option(help="Local month, YYYY-MM.")],
    office: Annotated[str, typer.Option(help="Only this office id.")] = "",
    zone: Annotated[str, typer.Option(help="Only this zone: east, central, west.")] = "",
    formats: Annotated[str, typer.Option("--format", help="csv, html, pdf, comma-separated.")] = (
        "csv,html,pdf"
    ),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the files (default: reports in the data folder)."),
    ] = None,
    csv_bom: Annotated[
        bool,
        typer.Option(
            help="Start the CSV files with a UTF-8 byte-order mark, for Excel on a Chinese "
            "Windows; --no-csv-bom for tools that do not expect one."
        ),
    ] = True,
) -> None:
    """Write the monthly points report (CSV for machines, HTML and PDF to print and post)."""
    from reports.files import write_report
    from reports.pdf_font import MissingFontError

    s = Settings()
    try:
        paths = write_report(
            s.database_url,
            month,
            office or None,
            zone or None,
            formats.split(","),
            out or s.data_dir / "reports",
            cli_console(),
            csv_bom=csv_bom,
            font=s.report_font,
        )
    except MissingFontError as e:
        console.print(str(e), style="red", markup=False)
        raise typer.Exit(2) from None
    for path in paths:
        console.print(f"wrote {path}", markup=False)


@app.command()
def stats(
    month: Annotated[str, typer.Option(help="Local month, YYYY-MM.")] = "",
    year: Annotated[str, typer.Option(help="Local year, YYYY.")] = "",
    on: Annotated[
        str,
        typer.Option(
            help="Count up to this local day (default: the period's last; no period: today)."
        ),
    ] = "",
    by: Annotated[
        Grouping, typer.Option(help="Rows by correction type, office or zone.")
    ] = "office",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Register statistics: on register at the start, received, released by end reason, and
    on register at the end, for a month or a year (docs/register.md)."""
    import json

    from models.db import make_engine
    from register.stats import COLUMNS, GROUPING_HEADINGS, load, period

    try:
        span, day = period(
            month or None,
            year or None,
            date.fromisoformat(on) if on else None,
            today=datetime.now(LOCAL_TZ).date(),
        )
    except ValueError as e:
        console.print(f"{e}", style="red")
        raise typer.Exit(2) from None
    result = load(make_engine(Settings().database_url), span, day)
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    zh, en = GROUPING_HEADINGS[by]
    table = Table(
        Column(f"{zh}\n{en}", no_wrap=True),
        *(Column(f"{zh}\n{en}", justify="right") for _, zh, en in COLUMNS),
    )
    table.title = f"在册统计 Register statistics {span.key} ({span.first} ~ {day})"
    *rows, (total, cells) = result.rows(by)
    for label, figures in rows:
        table.add_row(label, *map(str, figures))
    table.add_row(total, *map(str, cells), style="bold")
    console.print(table)
    console.print(result.summary())


@app.command()
def replay(
    from_file: Annotated[Path | None, typer.Option(help="A JSON-lines event log.")] = None,
    from_topics: Annotated[bool, typer.Option(help="Read the input topics from the start.")] = (
        False
    ),
    month: Annotated[list[str] | None, typer.Option(help="Close this month (repeatable).")] = None,
) -> None:
    """Rebuild the ledger and alerts from past events into CCWATCH_DATABASE_URL (a fresh
    database: it is migrated and seeded first)."""

    from ccwatch.seed import seed as seed_db
    from models.db import make_engine, migrate
    from streams.replay import IncompleteRead, read_log, read_topics, replay_into

    s = Settings()
    if (from_file is None) == (not from_topics):
        console.print("give exactly one of --from-file and --from-topics", style="red")
        raise typer.Exit(2)
    migrate(s.database_url)
    engine = make_engine(s.database_url)
    seed_db(engine)
    if from_file:
        records = read_log(from_file)
    else:
        _require_broker(s)
        records = read_topics(s.kafka_bootstrap, s.topics, s.partitions)
    try:
        with progress() as bar:
            task = bar.add_task("replaying", total=None)
            result = replay_into(
                engine, s, records, month or [], progress=lambda n: bar.advance(task, n)
            )
    except IncompleteRead as e:  # read before anything is written: the database is as seeded
        console.print(f"replay stopped, nothing written: {e}", style="red")
        raise typer.Exit(1) from None
    console.print(
        f"applied {result.applied} events, rejected {result.rejected}; closed "
        f"{result.months}; {result.entries} points entries, {result.alerts} alert "
        f"transitions, {result.recommendations} recommendations"
    )
    for event_id, why in result.not_applied:  # officers' actions that could not apply
        console.print(Text.assemble(("not applied", "yellow"), f" {event_id}: {why}"))


@app.command()
def run(
    day: Annotated[str, typer.Option("--date", help="Simulated local day.")] = "",
    seed: int = 7,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 1440,
    history_months: Annotated[
        int,
        typer.Option(
            min=0,
            help="Whole local months of history before the day's month (closed), besides "
            "the days of its month before it.",
        ),
    ] = 1,
    exit_after: Annotated[
        float, typer.Option(help="Stop this many seconds after the simulation; 0: run on.")
    ] = 0,
) -> None:
    """Run the whole system: broker, database, worker, simulated terminals; print alerts.

    The history is whole local months before the simulated day (one by default) and the
    days of the day's month before it: simulated and replayed into the database in a
    process of its own (the workers' pipeline), its whole months closed, while the day
    itself goes live at ``--speed`` through the broker and a worker. A fresh database is
    watched from the history's first day. Time-driven detection runs on ticks of simulated
    time sent with the events, and months close on simulated time (the history's), not by
    the worker's timer on the wall clock: the demo behaves as the same events would in
    real time."""
    from ccwatch.processes import PortTaken, check_ports, stop_on_signals

    base = Settings()
    try:  # before anything starts: a run from before may still hold them
        check_ports(
            base.web_host,
            {"CCWATCH_WEB_PORT": base.web_port, "CCWATCH_METRICS_PORT": base.metrics_port},
        )
    except PortTaken as e:
        console.print(str(e), style="red")
        raise typer.Exit(2) from None
    with stop_on_signals(), contextlib.suppress(KeyboardInterrupt):  # Ctrl-C, SIGTERM, SIGHUP
        _run_system(base, day, seed, speed, history_months, exit_after)
    console.print("stopped: worker, command center and broker", style="cyan")


def _run_system(
    base: Settings, day: str, seed: int, speed: float, history_months: int, exit_after: float
) -> None:
    """``ccwatch run`` once its ports are known to be free; stops all it started however it
    ends (KeyboardInterrupt for Ctrl-C and the stop signals)."""
    import multiprocessing

    from kafka import KafkaProducer

    from ccwatch.console import follow, render_alert, render_dead_letter, render_sent
    from ccwatch.demo import TICK, history_before, run_history
    from ccwatch.keys import keyring
    from ccwatch.processes import stop_all, uninterrupted
    from ccwatch.seed import seed as seed_db
    from models.db import make_engine, migrate
    from streams.topics import ensure_topics
    from terminals.producer import make_producer, send_events
    from terminals.simulator import simulate_days, with_ticks

    migrate(base.database_url)
    engine = make_engine(base.database_url)
    seed_db(engine)
    keys = keyring(engine)  # the simulated terminals sign with them
    console.print(f"database {base.shown()['database_url']} migrated and seeded", style="cyan")
    sim_day = date.fromisoformat(day) if day else _yesterday()
    history = history_before(sim_day, history_months)
    _watch_from(engine, history)
    with _broker(base) as s:
        ensure_topics(s.kafka_bootstrap, s.topics.all(), s.partitions, s.replication_factor)
        ready = s.data_dir / f"worker-{os.getpid()}.ready"
        ready.unlink(missing_ok=True)
        env = {
            **os.environ,
            "CCWATCH_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "CCWATCH_TABLE_STORE": s.table_store,
            "CCWATCH_READY_FILE": str(ready),
            "CCWATCH_TICK_INTERVAL_S": "0",  # simulated time ticks instead
            "CCWATCH_CLOSE_TIMER": "false",  # the history closes the demo's months
        }

        def start_worker() -> subprocess.Popen[bytes]:
            log_path = s.data_dir / "worker.log"
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "ccwatch", "worker"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # stopped by the run, in order, not by Ctrl-C
                )
            console.print(f"worker pid {proc.pid} starting, log in {log_path}", style="cyan")
            return proc

        proc: subprocess.Popen[bytes] | None = None
        past: multiprocessing.process.BaseProcess | None = None
        producer: KafkaProducer | None = None
        web_proc = _start_web(s, env)
        stop = threading.Event()
        tail = threading.Thread(
            target=follow,
            args=(
                s.kafka_bootstrap,
                s.topics,
                lambda a: render_alert(cli_console(), a),
                lambda reason, detail, key: render_dead_letter(cli_console(), reason, detail, key),
            ),
            kwargs={
                "stop": stop,
                "on_error": lambda e: console.print(f"could not show a record: {e!r}", style="red"),
            },
            daemon=True,
        )
        tail.start()
        try:
            if history.days:
                closes = ", ".join(history.months()) or "none"
                console.print(
                    f"history: {history.first} to {sim_day - timedelta(days=1)} "
                    f"({history.days} days; closes {closes}), replayed into the database "
                    "beside the day",
                    style="cyan",
                )
                spawn = multiprocessing.get_context("spawn")
                past = spawn.Process(
                    target=run_history, args=(s, history, seed), name="history", daemon=True
                )
                past.start()
            today = with_ticks(simulate_days(sim_day, 1, seed, keys=keys), TICK, s.partitions)
            producer = make_producer(s.kafka_bootstrap)
            proc = start_worker()
            _wait_ready(proc, ready)
            console.print(f"simulating {sim_day}: {len(today)} records at x{speed:g}", style="cyan")
            send_events(
                producer, s.topics, today, speed, on_send=lambda e: render_sent(cli_console(), e)
            )
            console.print("simulated day sent; Ctrl-C to stop", style="cyan")
            deadline = time.monotonic() + exit_after if exit_after > 0 else float("inf")
            while time.monotonic() < deadline:
                if proc.poll() is not None:  # a supervisor's job: start it again
                    console.print(f"worker exited ({proc.returncode}); restarting", style="yellow")
                    proc = start_worker()
                time.sleep(0.2)
            if past is not None and past.is_alive():
                console.print("waiting for the history to be replayed...", style="cyan")
                past.join()
        except KeyboardInterrupt:
            pass
        finally:
            with uninterrupted():  # the worker and the app first, while the broker is up
                stop.set()
                if producer is not None:
                    producer.close(timeout=2)
                if past is not None and past.is_alive():  # a rerun replays it again
                    past.terminate()
                    past.join(5)
                stop_all([proc, web_proc])
                tail.join(5)
                ready.unlink(missing_ok=True)


def _watch_from(engine: Engine, history: History) -> None:
    from ccwatch.demo import watch_from

    since = watch_from(engine, history)
    if since is None or since <= history.start():
        when = local(since or history.start())
        console.print(f"watching this database from {when:%Y-%m-%d %H:%M}", style="cyan")
        return
    console.print(
        f"this database has been watched since {local(since):%Y-%m-%d %H:%M}: "
        "no time before that is judged, so the month it began in closes in part. For a "
        "whole month, start on a fresh database (remove its file).",
        style="yellow",
    )


def _start_web(s: Settings, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The command-center app on loopback, with a duty user whose password is new each run."""
    import secrets

    from ccwatch.web.auth import hash_password
    from ccwatch.web.sessions import end_sessions
    from ccwatch.web.throttle import Throttle
    from models.access import Role, User
    from models.db import make_engine

    password = secrets.token_urlsafe(12)  # 16 characters: the policy's length (passwords.py)
    with Session(make_engine(s.database_url)) as session, session.begin():
        session.merge(
            User(
                id="duty",
                name="值班员 duty officer",
                role=Role.COMMAND,
                password_hash=hash_password(password),
                active=True,
                must_change_password=False,
            )
        )
        end_sessions(session, "duty", "password")  # a new password each run
    Throttle(make_engine(s.database_url)).unlock("duty")  # no lock-out left from a run before
    port = s.web_port
    with open(s.data_dir / "web.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccwatch", "web"],
            env={**env, "CCWATCH_WEB_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stopped by the run, in order, not by Ctrl-C
        )
    console.print(
        f"command center: http://{s.web_host}:{port}/  user duty, password {password}",
        style="cyan",
    )
    return proc


def _wait_ready(proc: subprocess.Popen[bytes], ready: Path, timeout_s: float = 120) -> None:
    with console.status("waiting for the worker to join its consumer group..."):
        deadline = time.monotonic() + timeout_s
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                console.print("the worker did not start; see its log", style="red")
                raise typer.Exit(1)
            time.sleep(0.1)
    console.print("worker ready", style="cyan")


def local(when: datetime) -> datetime:
    from models.localtime import local as to_local

    return to_local(when)


@app.command("alerts")
def list_alerts(
    state: Annotated[str, typer.Option(help="open, resolved or all")] = "all",
    limit: int = 50,
) -> None:
    """List alerts from the database, newest first."""
    from models.db import make_engine
    from models.records import Alert

    query = select(Alert).order_by(Alert.opened_at.desc()).limit(limit)
    if state != "all":
        query = query.where(Alert.state == state)
    table = printing.table(
        "alert_id", "opened", "subject", "office", "type", "state", "rule", "reason", alert_id=True
    )
    with Session(make_engine(Settings().database_url)) as session:
        for a in session.scalars(query):
            table.add_row(
                a.id,
                f"{local(a.opened_at):%Y-%m-%d %H:%M}",
                a.subject_id,
                a.office_id,
                labels.label("alert_type", a.alert_type),
                labels.label("alert_state", a.state),
                a.rule,
                a.reason_zh,
            )
    console.print(table)


@app.command("points")
def list_points(
    subject: Annotated[str, typer.Option(help="Only this subject id.")] = "",
    month: Annotated[str, typer.Option(help="Local month YYYY-MM.")] = "",
    limit: int = 100,
) -> None:
    """List points entries from the database, newest first."""
    from models.db import make_engine
    from models.records import PointsEntryRow as P

    query = select(P).order_by(P.occurred_at.desc()).limit(limit)
    if subject:
        query = query.where(P.subject_id == subject)
    if month:
        query = query.where(P.local_month == month)
    table = printing.table("when", "subject", "rule", "delta", "ruleset", "reason", "evidence")
    with Session(make_engine(Settings().database_url)) as session:
        for e in session.scalars(query):
            table.add_row(
                f"{local(e.occurred_at):%Y-%m-%d %H:%M}",
                e.subject_id,
                e.rule_id,
                f"{e.delta:+d}",
                f"{e.ruleset_id}@{e.ruleset_version}",
                e.reason_zh,
                e.evidence[0][:8] + "…",
            )
    console.print(table)


@app.command("recommendations")
def list_recommendations(
    status: Annotated[str, typer.Option(help="proposed, confirmed, rejected or all")] = "proposed",
    month: Annotated[str, typer.Option(help="Local month YYYY-MM.")] = "",
    limit: int = 100,
) -> None:
    """List recommendations (commendations, sanctions, level changes) awaiting decision."""
    from models.db import make_engine
    from models.records import RecommendationRow as R

    query = select(R).order_by(R.month.desc(), R.subject_id).limit(limit)
    if status != "all":
        query = query.where(R.status == status)
    if month:
        query = query.where(R.month == month)
    table = printing.table("id", "month", "subject", "kind", "status", "reason")
    with Session(make_engine(Settings().database_url)) as session:
        for r in session.scalars(query):
            table.add_row(
                r.id,
                r.month,
                r.subject_id,
                labels.label("recommendation_kind", r.kind),
                labels.label("recommendation_status", r.status),
                r.reason_zh,
            )
    console.print(table)


@app.command("act")
def act(
    alert: Annotated[str, typer.Argument(help="Alert id.")],
    action: Annotated[str, typer.Argument(help="acknowledge, dispatch or resolve.")],
    officer: Annotated[str, typer.Option(help="Officer id, recorded with the action.")],
    assignee: Annotated[str, typer.Option(help="dispatch: office or officer id.")] = "",
    outcome: Annotated[
        str, typer.Option(help="resolve: false_alarm, verified_violation or explained.")
    ] = "",
    note: str = "",
) -> None:
    """Act on an alert as an officer (sent as an alert-action event)."""
    import msgspec
    from kafka import KafkaProducer

    from models.db import make_engine
    from models.events import AlertAction, Rejection, decode, encode
    from models.ids import derive_id
    from models.records import Alert

    s = Settings()
    _require_broker(s)
    with Session(make_engine(s.database_url)) as session:
        row = session.get(Alert, alert)
    if row is None:
        console.print(f"no alert {alert}", style="red")
        raise typer.Exit(1)
    now = datetime.now(UTC)
    raw = {
        "event_id": derive_id("action", alert, action, officer, now.isoformat()),
        "subject_id": row.subject_id,
        "alert_id": alert,
        "action": action,
        "officer_id": officer,
        "occurred_at": now.isoformat(),
        "note": note,
        **({"assignee": assignee} if assignee else {}),
        **({"outcome": outcome} if outcome else {}),
    }
    checked = decode(msgspec.json.encode(raw), AlertAction)
    if isinstance(checked, Rejection):
        console.print(f"{checked.detail}", style="red")
        raise typer.Exit(2)
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    producer.send(s.topics.actions, key=row.subject_id.encode(), value=encode(checked))
    producer.flush()
    console.print(
        f"{labels.label('action', action)} sent for {labels.label('alert_type', row.alert_type)}"
        f" of {row.subject_id} by {officer}"
    )


period_app = typer.Typer(help="Security periods (重大活动安保期).", no_args_is_help=True)
app.add_typer(period_app, name="period")


@period_app.command("add")
def period_add(
    name: Annotated[str, typer.Argument(help="e.g. 两会 or 杭州亚运会")],
    start: Annotated[str, typer.Option(help="Local start, YYYY-MM-DDTHH:MM.")],
    end: Annotated[str, typer.Option(help="Local end, YYYY-MM-DDTHH:MM.")],
    office: Annotated[list[str] | None, typer.Option(help="Limit to offices.")] = None,
) -> None:
    """Add a period; workers pick it up at their next registry refresh, no restart."""
    from models.db import make_engine
    from models.ids import derive_id
    from models.reference import SecurityPeriodRow

    starts = datetime.fromisoformat(start).replace(tzinfo=LOCAL_TZ)
    ends = datetime.fromisoformat(end).replace(tzinfo=LOCAL_TZ)
    if ends <= starts:
        console.print("the end must come after the start", style="red")
        raise typer.Exit(2)
    period_id = derive_id("period", name, starts.isoformat())
    with Session(make_engine(Settings().database_url)) as session, session.begin():
        session.merge(
            SecurityPeriodRow(
                id=period_id, name=name, starts_at=starts, ends_at=ends, offices=list(office or [])
            )
        )
    console.print(f"security period {name} ({period_id}) from {starts} to {ends}")


@period_app.command("list")
def period_list() -> None:
    """List security periods."""
    from models.db import make_engine
    from models.reference import SecurityPeriodRow as P

    table = printing.table("id", "name", "starts", "ends", "offices")
    with Session(make_engine(Settings().database_url)) as session:
        for p in session.scalars(select(P).order_by(P.starts_at)):
            table.add_row(
                p.id,
                p.name,
                f"{local(p.starts_at):%Y-%m-%d %H:%M}",
                f"{local(p.ends_at):%Y-%m-%d %H:%M}",
                ",".join(p.offices) or "all",
            )
    console.print(table)


@period_app.command("end")
def period_end(period_id: str) -> None:
    """End a period now (it stays on record)."""
    from models.db import make_engine
    from models.reference import SecurityPeriodRow

    with Session(make_engine(Settings().database_url)) as session, session.begin():
        period = session.get(SecurityPeriodRow, period_id)
        if period is None:
            console.print(f"no period {period_id}", style="red")
            raise typer.Exit(1)
        period.ends_at = min(period.ends_at, datetime.now(UTC))
    console.print(f"period {period_id} ended")


keys_app = typer.Typer(
    help="Signing keys of kiosks, phones and bracelets (enrol, rotate, retire).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


@keys_app.command("enrol")
def keys_enrol(
    device: Annotated[str, typer.Argument(help="A terminal id, or a phone's or bracelet's id.")],
    subject: Annotated[
        str, typer.Option(help="The subject a phone or bracelet belongs to; none for a kiosk.")
    ] = "",
) -> None:
    """Enrol a new key for a device and print its secret, once, for the device. Rotation:
    enrol a new key, switch the device to it, then `keys retire` the old one."""
    from ccwatch.keys import enrol
    from models.db import make_engine
    from models.reference import DeviceKeyRow, Subject, Terminal

    with Session(make_engine(Settings().database_url)) as session, session.begin():
        if not subject:  # a kiosk: a registered terminal, or a device enrolled before
            known = session.scalars(
                select(DeviceKeyRow.subject_id).where(DeviceKeyRow.device_id == device)
            ).first()
            if session.get(Terminal, device) is None and known is None:
                console.print(f"{device} is no terminal: give --subject for a device", style="red")
                raise typer.Exit(2)
            subject = known or ""
        elif session.get(Subject, subject) is None:
            console.print(f"no subject {subject}", style="red")
            raise typer.Exit(2)
        key = enrol(session, device, subject or None)
    console.print(f"key {key.key_id} for {device}" + (f" of {subject}" if subject else ""))
    console.print("secret (shown once, give it to the device only):")
    print(key.secret.hex())


@keys_app.command("retire")
def keys_retire(
    key_id: Annotated[str, typer.Argument(help="The key to retire.")],
    at: Annotated[
        str, typer.Option(help="Refuse records dated from then on (RFC 3339); default: now.")
    ] = "",
) -> None:
    """Retire a key: records dated from --at on are refused with it (`retired_key`)."""
    from ccwatch.keys import retire
    from models.db import make_engine

    when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    if when.tzinfo is None:
        console.print("--at needs a UTC offset", style="red")
        raise typer.Exit(2)
    with Session(make_engine(Settings().database_url)) as session, session.begin():
        try:
            key = retire(session, key_id, when)
        except KeyError:
            console.print(f"no key {key_id}", style="red")
            raise typer.Exit(1) from None
    console.print(f"key {key.key_id} retired from {local(when):%Y-%m-%d %H:%M:%S} (local)")


@keys_app.command("list")
def keys_list(device: Annotated[str, typer.Option(help="Only this device's keys.")] = "") -> None:
    """List keys (never their secrets)."""
    from models.db import make_engine
    from models.reference import DeviceKeyRow as K

    table = printing.table("key", "device", "subject", "created", "retired_from")
    query = select(K).order_by(K.device_id, K.created_at)
    if device:
        query = query.where(K.device_id == device)
    with Session(make_engine(Settings().database_url)) as session:
        for k in session.scalars(query):
            table.add_row(
                k.key_id,
                k.device_id,
                k.subject_id or "(kiosk)",
                f"{local(k.created_at):%Y-%m-%d %H:%M:%S}",
                f"{local(k.retired_at):%Y-%m-%d %H:%M:%S}" if k.retired_at else "",
            )
    console.print(table)


@app.command("zero-reports")
def zero_reports(day: Annotated[str, typer.Option("--date", help="Local day.")] = "") -> None:
    """Each office's daily report (零报告) during security periods."""
    from models.db import make_engine
    from models.records import ZeroReport as Z

    query = select(Z).order_by(Z.day.desc(), Z.office_id)
    if day:
        query = query.where(Z.day == date.fromisoformat(day))
    table = printing.table("day", "office", "period", "alerts_opened", "still_open", "status")
    with Session(make_engine(Settings().database_url)) as session:
        for z in session.scalars(query.limit(200)):
            table.add_row(
                str(z.day),
                z.office_id,
                z.period_id,
                str(z.alerts_opened),
                str(z.alerts_open),
                labels.label("zero_report", z.status),
            )
    console.print(table)


@app.command()
def web() -> None:
    """Run the command-center web app on CCWATCH_WEB_HOST:CCWATCH_WEB_PORT."""
    import uvicorn

    from ccwatch.web.app import create_app

    s = Settings()
    _require_broker(s)
    # X-Forwarded-For only from a proxy named in FORWARDED_ALLOW_IPS (none by default, not
    # even loopback): log-in throttling counts the address it sees (docs/web.md)
    proxies = os.environ.get("FORWARDED_ALLOW_IPS", "")
    uvicorn.run(
        create_app(s),
        host=s.web_host,
        port=s.web_port,
        log_level="info",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


@app.command()
def openapi(out: Path = Path("docs/openapi.json")) -> None:
    """Write the web app's OpenAPI description (the JSON API behind the pages)."""
    import json

    from ccwatch.web.app import create_app
    from models.db import make_engine

    spec = create_app(Settings(kafka_bootstrap="unused:9092"), make_engine("sqlite://")).openapi()
    out.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", "utf-8")
    console.print(f"wrote {out}")
