"""Settings from environment variables (prefix ``CCWATCH_``), each with a documented default."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.limits import MAX_EVENT_AGE_S
from streams.topics import TopicNames

if TYPE_CHECKING:
    from sqlalchemy import Engine


PROJECT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """``var`` in the project folder when ccwatch runs from its source (``./dev``), so every
    command finds the same database from any folder; else ``var`` in the working folder
    (an installed package, as in the Docker image's /app)."""
    if (PROJECT / "pyproject.toml").is_file() and (PROJECT / "ccwatch").is_dir():
        return PROJECT / "var"
    return Path("var")


class Settings(BaseSettings):
    """Every knob of a ccwatch process. ``ccwatch settings`` prints the values in force."""

    model_config = SettingsConfigDict(env_prefix="CCWATCH_", frozen=True)

    kafka_bootstrap: str = Field(
        "",
        description="Kafka bootstrap servers (host:port,...). Empty: start the embedded "
        "tansu broker on a free loopback port.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; PostgreSQL in production (postgresql+psycopg://...). "
        "Empty: the SQLite file ccwatch.db in the data folder.",
    )
    topic_prefix: str = Field("ccwatch", description="Prefix of every topic name.")
    partitions: int = Field(4, ge=1, description="Partitions of every ccwatch topic.")
    replication_factor: int = Field(1, ge=1, description="Replication of created topics.")
    app_id: str = Field("ccwatch", description="Faust app id = Kafka consumer group.")
    session_timeout_s: float = Field(
        8.0, gt=0, description="Consumer session timeout; the group join waits about half."
    )
    registry_refresh_s: float = Field(
        30.0, gt=0, description="How often workers reload subjects, terminals and leaves."
    )
    max_clock_skew_s: float = Field(
        300.0, ge=0, description="Events further ahead of the worker's clock are rejected."
    )
    db_connect_timeout_s: float = Field(
        5.0,
        gt=0,
        description="Longest wait to connect to the database (or for a pooled connection).",
    )
    db_statement_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Longest a database statement may run; the worker also "
        "gives up waiting on its side after this (a frozen server).",
    )
    db_pool_size: int = Field(5, ge=1, description="Database connections kept per process.")
    max_event_age_s: float = Field(
        MAX_EVENT_AGE_S,
        gt=0,
        description="Events older than this before the worker's clock are rejected.",
    )
    sink_batch_size: int = Field(500, ge=1, description="Records per database write.")
    sink_batch_window_s: float = Field(0.5, gt=0, description="Longest wait to fill a batch.")
    ruleset: str | None = Field(
        None,
        description="Points rule set: a shipped name (shengsi-2012.toml) or a file path; "
        "empty: shengsi-2020.toml.",
    )
    producer_max_batch_size: int = Field(
        1,
        ge=1,
        description="Records per producer batch; 1 keeps table recovery right on "
        "tansu; raise it on Kafka for throughput.",
    )
    producer_idempotence: bool = Field(
        False,
        description="Idempotent producer (acks=all; a retried batch is not written twice): "
        "on for Apache Kafka; tansu does not support it.",
    )
    tick_interval_s: float = Field(
        30.0, ge=0, description="How often time-driven detection runs (0: never)."
    )
    close_timer: bool = Field(True, description="Close each local month automatically.")
    close_grace_s: float = Field(
        6 * 3600.0, ge=0, description="Wait after a local month ends before closing it."
    )
    input_timestamp_type: Literal["CreateTime", "LogAppendTime"] = Field(
        "CreateTime",
        description="Timestamps of the input topics a worker creates: LogAppendTime (the "
        "broker's clock, production) so lateness cannot be backdated; CreateTime lets the "
        "simulator send history as if on time.",
    )
    broker_lost_s: float = Field(
        30.0,
        gt=0,
        description="A worker whose broker has not answered for this long "
        "exits (status 69) for its supervisor to restart it.",
    )
    shutdown_grace_s: float = Field(
        10.0,
        gt=0,
        description="SIGTERM: longest a graceful stop may take before the "
        "worker exits anyway (nothing unacknowledged is lost).",
    )
    web_host: str = Field("127.0.0.1", description="Bind address of HTTP servers.")
    web_port: int = Field(8080, ge=1, le=65535, description="Port of the command-center app.")
    web_idle_timeout_s: float = Field(
        1800.0,
        gt=0,
        description="A web session unused this long ends (the open board's live feed is not use).",
    )
    web_absolute_timeout_s: float = Field(
        12 * 3600.0,
        gt=0,
        description="A web session ends this long after its log-in, used or not (a duty shift).",
    )
    web_secure_cookie: bool = Field(
        False,
        description="Send the session cookie over HTTPS only (Secure, named __Host-ccwatch); "
        "on behind TLS (docker-compose.yml).",
    )
    web_max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the web app reads (413 beyond)."
    )
    login_delay_s: float = Field(
        1.0,
        gt=0,
        description="First wait after repeated failed log-ins (an account's 4th, an "
        "address's 21st); it doubles with each further failure (429 with Retry-After).",
    )
    login_lockout_after: int = Field(
        10, ge=1, description="Consecutive failed log-ins that lock an account."
    )
    login_lockout_s: float = Field(
        900.0,
        gt=0,
        description="How long a lock-out lasts, unless an administrator lifts it sooner.",
    )
    login_concurrency: int = Field(
        1,
        ge=1,
        description="Password verifications (argon2) run at once; a few more log-ins wait, "
        "the rest are refused (429) so that other requests are not starved.",
    )
    metrics_port: int = Field(
        9108, ge=0, le=65535, description="Port of a worker's /metrics (0: not served)."
    )
    data_dir: Path = Field(
        default_factory=lambda: default_data_dir(),
        description="Working files: Faust data, logs, the default SQLite database, reports. "
        "Default: var in the project folder (a source checkout), else in the working folder.",
    )
    table_store: Literal["rocksdb", "memory"] = Field(
        "rocksdb",
        description="Where a worker keeps its tables: rocksdb (on disk under data_dir, so a "
        "restart reads only the changelog's tail) or memory (the whole changelog is read "
        "on every start).",
    )
    ready_file: Path | None = Field(
        None, description="Touched once the worker has joined its group (health checks)."
    )
    log_level: str = Field("info", description="Worker log level.")
    report_font: Path | None = Field(
        None,
        description="The CJK font the PDF report embeds (a Noto Sans CJK .ttc or .otf); "
        "empty: found in the system's font folders (Debian's fonts-noto-cjk).",
    )

    @model_validator(mode="after")
    def _database_in_data_dir(self) -> Settings:
        if not self.database_url:  # frozen: set once, here
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'ccwatch.db'}")
        return self

    def environment(self) -> dict[str, str]:
        """These settings as ``CCWATCH_*`` variables, for a process started with them (a
        worker a test or a benchmark starts)."""
        prefix = self.model_config.get("env_prefix", "")
        return {
            f"{prefix}{k.upper()}": str(v) for k, v in self.model_dump().items() if v is not None
        }

    def shown(self) -> dict[str, object]:
        """The values to print or log: the database URL without its password (``ccwatch
        settings`` prints these)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        values = self.model_dump()
        try:
            values["database_url"] = make_url(self.database_url).render_as_string(
                hide_password=True
            )
        except ArgumentError:  # not a URL SQLAlchemy reads: show none of it
            values["database_url"] = "(unreadable, hidden)"
        return values

    def engine(self) -> Engine:
        """A database engine with this process's timeouts and pool size."""
        from models.db import make_engine

        return make_engine(
            self.database_url,
            connect_timeout_s=self.db_connect_timeout_s,
            statement_timeout_s=self.db_statement_timeout_s,
            pool_size=self.db_pool_size,
        )

    @property
    def registry_snapshot(self) -> Path:
        """The last reference data a worker read, for starting while the database is down."""
        return self.data_dir / "registry.json"

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)
