"""The deployment files, checked by parsing: no Docker engine runs on these machines, so
nothing here builds an image or starts a container (docs/runbook.md).

Checked: docker-compose.yml (services, official images, real CCWATCH_* settings, commands
the CLI accepts, loopback-only ports, no literal secrets, dependencies, profiles, volumes),
the Dockerfile (base image, non-root user, entrypoint, exposed metrics port, what it
copies), .env.example, the Prometheus configuration and the Grafana provisioning and
dashboard (only metrics and labels that streams.metrics exports), and the Prometheus alerting
rules (one per fault, each with a severity, a Chinese and English summary and a runbook
section), checked and unit-tested by promtool."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase

from ccwatch.settings import Settings
from streams import metrics
from streams.metrics import REGISTRY

try:
    import yaml  # type: ignore[import-untyped, unused-ignore]
except ModuleNotFoundError:  # a development dependency; CI must have it
    if os.environ.get("CI"):
        raise
    pytest.skip("PyYAML is not installed (pip install -e '.[dev]')", allow_module_level=True)

ROOT = Path(__file__).parents[2]

KAFKA = ("kafka-1", "kafka-2", "kafka-3")
CORE = {*KAFKA, "postgres", "migrate", "worker"}
APP = {"migrate", "worker", "simulator", "web"}
PROFILES = {"simulator": "demo", "web": "web", "prometheus": "monitoring", "grafana": "monitoring"}
IMAGES = {
    **dict.fromkeys(KAFKA, r"apache/kafka:[34]\.\d+\.\d+"),
    "postgres": r"postgres:16(\.\d+)?",
    "prometheus": r"prom/prometheus:v\d+\.\d+\.\d+",
    "grafana": r"grafana/grafana:\d+\.\d+\.\d+",
}
APP_IMAGE = "ccwatch:latest"
# Commands whose CLI is still being written: checked as soon as the CLI has them.
PENDING_COMMANDS = {"web"}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}; not $${...}
INTERPOLATION = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
)
BARE_VARIABLE = re.compile(r"(?<!\$)\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}")


# --- the files ------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def env(service: str) -> dict[str, str]:
    """A service's environment as a mapping (compose accepts a mapping or KEY=VALUE list)."""
    raw = services()[service].get("environment") or {}
    if isinstance(raw, list):
        return dict(str(item).partition("=")[::2] for item in raw)
    return dict(raw)


def mounts(service: str) -> list[tuple[str, str]]:
    """(source, target) of a service's short-syntax volumes."""
    result = []
    for spec in services()[service].get("volumes") or []:
        assert isinstance(spec, str), f"{service}: use the short volume syntax"
        source, target = spec.split(":")[:2]
        result.append((source, target))
    return result


def profiles(service: str) -> list[str]:
    return list(services()[service].get("profiles") or [])


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in (ROOT / "Dockerfile").read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, rest = (current + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, "Dockerfile ends in a continuation line"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


@cache
def env_example() -> dict[str, str]:
    values = {}
    for raw in (ROOT / ".env.example").read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example: not NAME=value: {line!r}"
        values[name.strip()] = value.strip()
    return values


def prometheus() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "monitoring/prometheus.yml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def grafana_file(path: str) -> dict[str, Any]:
    text = (ROOT / "monitoring/grafana" / path).read_text("utf-8")
    data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def dashboard() -> dict[str, Any]:
    return grafana_file("dashboards/ccwatch.json")


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard()["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # collapsed rows hold their panels
    return found


# --- docker-compose.yml ----------------------------------------------------------------


def test_compose_has_the_services_and_no_version_key() -> None:
    assert CORE | APP | set(IMAGES) <= set(services())
    assert "version" not in compose(), "the compose spec has no version key"


@pytest.mark.parametrize("service", sorted(IMAGES))
def test_third_party_images_are_official_and_pinned(service: str) -> None:
    image = services()[service]["image"]
    assert re.fullmatch(IMAGES[service], image), f"{service}: {image}"
    assert "build" not in services()[service]


@pytest.mark.parametrize("service", sorted(APP))
def test_app_services_run_the_ccwatch_image(service: str) -> None:
    spec = services()[service]
    assert spec["image"] == APP_IMAGE
    assert spec["build"] == "."


def test_ccwatch_variables_are_settings() -> None:
    known = {f"CCWATCH_{name.upper()}" for name in Settings.model_fields}
    used = {(svc, name) for svc in services() for name in env(svc) if name.startswith("CCWATCH_")}
    used |= {
        ("Dockerfile", arg.split("=")[0])
        for keyword, args in dockerfile()
        if keyword == "ENV"
        for arg in args.split()
        if arg.startswith("CCWATCH_")
    }
    assert used, "no CCWATCH_* variables found"
    unknown = sorted(f"{where}: {name}" for where, name in used if name not in known)
    assert not unknown, f"not settings of ccwatch.settings.Settings: {unknown}"


def test_environment_values_are_strings() -> None:
    # Unquoted YAML true/false/numbers are not strings, and compose versions differ on them.
    for service in services():
        for name, value in env(service).items():
            assert isinstance(value, str), f"{service}: quote {name}: {value!r}"


def test_published_ports_bind_loopback_only() -> None:
    for service, spec in services().items():
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{service}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{service}: {port}"
    for node in KAFKA:
        assert not services()[node].get("ports")
    assert not services()["postgres"].get("ports")


def test_web_publishes_its_configured_port() -> None:
    web_port = env("web")["CCWATCH_WEB_PORT"]
    assert [str(p).rsplit(":", 1)[-1] for p in services()["web"]["ports"]] == [web_port]


def test_web_sends_its_session_cookie_over_https_only() -> None:
    assert env("web")["CCWATCH_WEB_SECURE_COOKIE"] == "true"


def test_no_literal_secrets() -> None:
    for service in services():
        for name, raw in env(service).items():
            value = str(raw)
            if SECRET_KEY.search(name):
                assert REQUIRED_REFERENCE.fullmatch(value), (
                    f"{service}: {name} must be ${{VAR}} from .env, with no default"
                )
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert REQUIRED_REFERENCE.fullmatch(password), (
                    f"{service}: {name} has a literal password in its URL"
                )
    for keyword, args in dockerfile():
        if keyword in {"ENV", "ARG"}:
            assert not SECRET_KEY.search(args), f"Dockerfile {keyword} {args}"
    for name, value in env_example().items():
        if SECRET_KEY.search(name):
            assert value == "change-me", f".env.example: {name} must be a placeholder"


def test_dependencies_exist_and_can_be_met() -> None:
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for service, spec in services().items():
        depends = spec.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {name: {"condition": "service_started"} for name in depends}
        for target, how in depends.items():
            assert target in services(), f"{service} depends on unknown {target}"
            condition = how.get("condition", "service_started")
            assert condition in conditions, f"{service} -> {target}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services()[target], f"{target} has no healthcheck"
            if condition == "service_completed_successfully":
                assert services()[target].get("restart", "no") == "no", f"{target} restarts"
            if not profiles(service):
                assert not profiles(target), f"{service} (always on) needs {target} (profile)"


def test_startup_order() -> None:
    def condition(service: str, target: str) -> str:
        return str(services()[service]["depends_on"][target]["condition"])

    assert condition("migrate", "postgres") == "service_healthy"
    for service in ("worker", "web"):
        for node in KAFKA:
            assert condition(service, node) == "service_healthy"
        assert condition(service, "migrate") == "service_completed_successfully"
    assert condition("simulator", "worker") == "service_healthy"


def test_healthchecks() -> None:
    def probe(service: str) -> str:
        test = services()[service]["healthcheck"]["test"]
        return " ".join(test[1:]) if isinstance(test, list) else str(test)

    for node in KAFKA:
        assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in probe(node)
        assert "--bootstrap-server localhost:9092" in probe(node)
    assert "pg_isready" in probe("postgres")
    ready = env("worker")["CCWATCH_READY_FILE"]
    assert probe("worker") == f"test -f {ready}"
    # A restarted container must not look ready from its previous run's file.
    assert str(Path(ready).parent) in (services()["worker"].get("tmpfs") or [])


def test_kafka_runs_kraft_on_three_nodes_without_auto_created_topics() -> None:
    voters = {f"{env(node)['KAFKA_NODE_ID']}@{node}:9093" for node in KAFKA}
    for node in KAFKA:
        kafka = env(node)
        assert services()[node]["hostname"] == node
        assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert set(kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert kafka["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{node}:9092"
        assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert kafka["CLUSTER_ID"], "the image refuses KRaft mode without CLUSTER_ID"
    assert len({env(node)["KAFKA_NODE_ID"] for node in KAFKA}) == len(KAFKA)
    assert len({env(node)["CLUSTER_ID"] for node in KAFKA}) == 1
    bootstrap = env("worker")["CCWATCH_KAFKA_BOOTSTRAP"].split(",")
    assert bootstrap == [f"{node}:9092" for node in KAFKA]


def test_kafka_settings_that_keep_data() -> None:
    for node in KAFKA:
        kafka = env(node)
        for name in (
            "KAFKA_DEFAULT_REPLICATION_FACTOR",
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        ):
            assert kafka[name] == "3", f"{node}: {name}"
        # A write needs 2 in-sync replicas of 3: one node may be down without refusing writes.
        assert kafka["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert kafka["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert kafka["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert kafka["KAFKA_LOG_RETENTION_MS"] == "-1"
    for service in APP:
        app = env(service)
        assert app["CCWATCH_REPLICATION_FACTOR"] == "3" and len(KAFKA) >= 3
        assert app["CCWATCH_PRODUCER_IDEMPOTENCE"] == "true"
        assert app["CCWATCH_INPUT_TIMESTAMP_TYPE"] == "LogAppendTime"


def test_database_timeouts_and_pool() -> None:
    for service in APP:
        app = env(service)
        assert float(app["CCWATCH_DB_CONNECT_TIMEOUT_S"]) > 0
        assert float(app["CCWATCH_DB_STATEMENT_TIMEOUT_S"]) > 0
        assert int(app["CCWATCH_DB_POOL_SIZE"]) >= 1


def test_worker_is_restarted_when_it_exits() -> None:
    # The worker leaves (ready file removed, status 69) when it loses the broker, and
    # Docker starts it again: a plain `docker compose` never restarts an unhealthy one.
    assert services()["worker"]["restart"] == "unless-stopped"


def test_workers_scale() -> None:
    worker = services()["worker"]
    assert re.fullmatch(r"\$\{WORKERS:-\d+\}", str(worker["deploy"]["replicas"]))
    assert "container_name" not in worker, "a fixed name prevents --scale"
    assert not worker.get("ports"), "a published port prevents --scale"


def test_profiles() -> None:
    for service in CORE:
        assert not profiles(service), f"{service} must start with a plain `up`"
    for service, profile in PROFILES.items():
        assert profiles(service) == [profile], service


def test_volumes_are_declared_and_bind_mounts_exist() -> None:
    declared = set(compose().get("volumes") or {})
    used = set()
    for service in services():
        for source, _ in mounts(service):
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{service} mounts missing {source}"
            else:
                assert source in declared, f"{service}: volume {source} is not declared"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"
    for service in (*KAFKA, "postgres", "prometheus", "grafana"):
        assert any(source in declared for source, _ in mounts(service)), service


@pytest.mark.parametrize("service", sorted(APP))
def test_commands_are_accepted_by_the_cli(service: str) -> None:
    import typer.main
    from typer.core import TyperGroup

    from ccwatch.cli import app

    spec = services()[service]
    default_cmd = json.loads(dict(final_stage())["CMD"])
    command = spec.get("command", default_cmd)
    argv = [*spec.get("entrypoint", ["ccwatch"]), *command]
    if argv[:2] == ["sh", "-c"]:
        runs = [shlex.split(part) for part in " ".join(argv[2:]).split("&&")]
    else:
        runs = [argv]
    for run in runs:
        assert run[0] == "ccwatch", f"{service}: {run}"
        root = typer.main.get_command(app)
        ctx = root.make_context("ccwatch", run[1:])
        assert isinstance(root, TyperGroup)
        if run[1] in PENDING_COMMANDS and run[1] not in root.list_commands(ctx):
            pytest.skip(f"`ccwatch {run[1]}` is not written yet")
        # Resolve each subcommand and parse its options, as click would, without invoking.
        group: TyperGroup | None = root
        args = run[1:]
        while group is not None:
            name, sub, args = group.resolve_command(ctx, args)
            assert sub is not None and name is not None, f"{service}: {run}"
            ctx = sub.make_context(name, list(args), parent=ctx)
            group = sub if isinstance(sub, TyperGroup) else None


def test_migrate_replaces_the_entrypoint_for_its_shell_line() -> None:
    migrate = services()["migrate"]
    assert migrate["entrypoint"] == ["sh", "-c"]
    assert migrate["command"] == ["ccwatch db upgrade && ccwatch db seed"]


# --- .env.example ------------------------------------------------------------------------


def test_env_example_defines_what_compose_requires() -> None:
    text = (ROOT / "docker-compose.yml").read_text("utf-8")
    uncommented = "\n".join(line.split(" #")[0] for line in text.splitlines())
    references = list(INTERPOLATION.finditer(uncommented))
    bare = [m["name"] for m in BARE_VARIABLE.finditer(INTERPOLATION.sub("", uncommented))]
    assert not bare, f"write ${{VAR}}, not $VAR: {bare}"
    required = {m["name"] for m in references if m["op"] in (None, "?", ":?")}
    mentioned = {m["name"] for m in references}
    assert {"POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"} <= required
    assert required <= set(env_example()), (
        f"missing in .env.example: {required - set(env_example())}"
    )
    assert set(env_example()) <= mentioned, f"unused: {set(env_example()) - mentioned}"
    assert int(env_example()["WORKERS"]) <= int(env_example()["PARTITIONS"])


def test_env_is_kept_out_of_git() -> None:
    ignored = (ROOT / ".gitignore").read_text("utf-8").split()
    assert ".env" in ignored, "add .env to .gitignore: it holds the deployment's secrets"


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_base_image() -> None:
    """Python 3.11 slim, but for the stage that fetches the map's library with npm."""
    for keyword, args in dockerfile():
        if keyword == "FROM":
            assert re.match(r"python:3\.11-slim|node:\d+-bookworm-slim AS vendor$", args), args
    assert final_stage()[0][1].startswith("python:3.11-slim")


def test_dockerfile_vendors_the_map_library_from_the_lock_file() -> None:
    runs = [args for keyword, args in dockerfile() if keyword == "RUN"]
    assert any(a.startswith("npm ci --ignore-scripts") and "npm run vendor" in a for a in runs)
    copies = [args for keyword, args in dockerfile() if keyword == "COPY"]
    assert "package.json package-lock.json ./" in copies
    assert any(a.startswith("--from=vendor ") for a in copies)


def test_dockerfile_runs_ccwatch_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert json.loads(dict(stage)["ENTRYPOINT"]) == ["ccwatch"]
    assert json.loads(dict(stage)["CMD"]) == ["worker"]


def test_dockerfile_exposes_the_metrics_port() -> None:
    exposed = {
        port for keyword, args in final_stage() if keyword == "EXPOSE" for port in args.split()
    }
    assert env("worker")["CCWATCH_METRICS_PORT"] in exposed


def test_ci_and_the_image_have_the_cjk_fonts_the_pages_name() -> None:
    """board.css names Noto Sans CJK SC first: CI's screenshots (./dev test) and the image
    (reports written in it) have it."""
    assert "Noto Sans CJK SC" in (ROOT / "ccwatch/web/static/board.css").read_text("utf-8")
    assert "./dev test" in (ROOT / ".ci/run").read_text("utf-8")
    assert "fonts-noto-cjk" in (ROOT / "dev").read_text("utf-8")
    assert any(k == "RUN" and "fonts-noto-cjk" in args for k, args in final_stage())


def test_dockerfile_installs_the_package_from_its_sources_only() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = set()
    for keyword, args in dockerfile():
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            assert not {".", "./", "*"} & set(sources), "COPY . would bake .env and var/ in"
            assert not any(s.startswith(".env") for s in sources)
            copied |= {s.rstrip("/") for s in sources}
    assert {"pyproject.toml", "README.md"} | packages <= copied
    assert any(keyword == "RUN" and "pip install ." in args for keyword, args in dockerfile())


# --- Prometheus and Grafana --------------------------------------------------------------


def test_prometheus_scrapes_every_worker_on_its_metrics_port() -> None:
    port = int(env("worker")["CCWATCH_METRICS_PORT"])
    targets = [
        (name, sd["port"])
        for job in prometheus()["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for sd in job.get("dns_sd_configs", [])
        for name in sd["names"]
    ]
    assert ("worker", port) in targets
    assert ("./monitoring/prometheus.yml", "/etc/prometheus/prometheus.yml") in mounts("prometheus")


def test_grafana_is_provisioned_from_the_repository() -> None:
    grafana = dict((target, source) for source, target in mounts("grafana"))
    assert grafana["/etc/grafana/provisioning"] == "./monitoring/grafana/provisioning"
    (provider,) = grafana_file("provisioning/dashboards/ccwatch.yml")["providers"]
    assert provider["type"] == "file"
    assert grafana[provider["options"]["path"]] == "./monitoring/grafana/dashboards"
    (source,) = grafana_file("provisioning/datasources/prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["jsonData"]["timeInterval"] == prometheus()["global"]["scrape_interval"]
    assert REQUIRED_REFERENCE.fullmatch(env("grafana")["GF_SECURITY_ADMIN_PASSWORD"])


def exported() -> dict[str, frozenset[str] | None]:
    """Sample names a worker exposes -> their label names (None: not known here)."""
    labels = {
        m._name: frozenset(m._labelnames)
        for m in vars(metrics).values()
        if isinstance(m, MetricWrapperBase)
    }
    names: dict[str, frozenset[str] | None] = {}
    for family in REGISTRY.collect():
        known = labels.get(family.name)
        if family.type == "counter":
            names[f"{family.name}_total"] = known
        elif family.type == "histogram":
            names[f"{family.name}_bucket"] = None if known is None else known | {"le"}
            names[f"{family.name}_sum"] = known
            names[f"{family.name}_count"] = known
        else:
            names[family.name] = known
    return names


def expressions() -> list[tuple[str, str, str]]:
    """(panel title, PromQL, legend format) of every query on the dashboard."""
    return [
        (panel["title"], target["expr"], target.get("legendFormat", ""))
        for panel in panels()
        for target in panel.get("targets", [])
    ]


def test_dashboard_identity_and_data_source() -> None:
    board = dashboard()
    assert (board["uid"], board["title"]) == ("ccwatch", "ccwatch")
    assert board["schemaVersion"] >= 36
    (source,) = grafana_file("provisioning/datasources/prometheus.yml")["datasources"]
    for panel in panels():
        for item in [panel, *panel.get("targets", [])]:
            if "datasource" in item:
                assert item["datasource"]["uid"] == source["uid"], panel["title"]
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_dashboard_queries_only_exported_metrics_and_labels() -> None:
    names = exported()
    assert expressions()
    for title, expr, legend in expressions():
        used = set(re.findall(r"\bccwatch_[A-Za-z0-9_]+", expr))
        unknown = used - set(names)
        assert not unknown, f"{title}: no such metric in streams.metrics: {unknown}"
        label_sets = [names[n] for n in used]
        if not used or any(s is None for s in label_sets):
            continue
        allowed = {"instance", "job"}.union(*(s for s in label_sets if s is not None))
        selectors = re.findall(r"\{([^}]*)\}", re.sub(r"\{\{[^}]*\}\}", "", expr))
        referenced = {
            label
            for body in selectors
            for label in re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", body)
        }
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            referenced |= {label.strip() for label in group.split(",") if label.strip()}
        referenced |= set(re.findall(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}", legend))
        assert referenced <= allowed, f"{title}: unknown labels {referenced - allowed}"


def test_dashboard_shows_every_worker_metric() -> None:
    families = {family.name for family in REGISTRY.collect()}
    text = " ".join(expr for _, expr, _ in expressions())
    missing = {
        name
        for name in families
        if not re.search(rf"\b{name}(_total|_bucket|_sum|_count)?\b", text)
    }
    assert not missing, f"no panel shows {sorted(missing)}"


# --- alerting rules -----------------------------------------------------------------------

RULES = ROOT / "monitoring/rules/ccwatch.yml"
RULE_TESTS = ROOT / "tests/unit/alerting_rules_test.yml"
# Each fault of docs/runbook.md and the rules that report it.
FAULT_ALERTS = {
    "worker down": {"CcwatchWorkerDown", "CcwatchNoWorkerUp", "CcwatchWorkerStalled"},
    "a sink failing or stuck": {"CcwatchSinkFailing", "CcwatchSinkStuck"},
    "poison rows": {"CcwatchPoisonRows"},
    "a timer failing": {"CcwatchTimerFailing"},
    "lag growing": {"CcwatchConsumerLagGrowing"},
    "dead letters rising": {"CcwatchDeadLettersRising", "CcwatchProcessingErrors"},
    "no data from a terminal": {"CcwatchTerminalSilent"},
    "SLA breaches": {"CcwatchSlaBreaches"},
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text("utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def runbook_anchors() -> set[str]:
    """GitHub's anchors of docs/runbook.md's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs/runbook.md").read_text("utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def promtool() -> str:
    """promtool from PATH or next to this Python (./dev test puts it in .venv/bin)."""
    found = shutil.which("promtool") or shutil.which(
        "promtool", path=str(Path(sys.executable).parent)
    )
    if found:
        return found
    if os.environ.get("CI"):
        raise AssertionError("promtool is missing: ./dev test installs it (Debian's prometheus)")
    pytest.skip("promtool is not installed (./dev test takes it from Debian's package prometheus)")


def test_prometheus_loads_the_mounted_rules() -> None:
    mounted = dict((target, source) for source, target in mounts("prometheus"))
    assert mounted["/etc/prometheus/rules"] == "./monitoring/rules"
    assert prometheus()["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert sorted(p.name for p in (ROOT / "monitoring/rules").glob("*.yml")) == ["ccwatch.yml"]


def test_every_fault_has_alerting_rules() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names)), "alert names must be unique"
    assert set(names) == set().union(*FAULT_ALERTS.values())


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: str(rule["alert"]))
def test_each_rule_has_a_severity_a_bilingual_text_and_a_runbook_section(
    rule: dict[str, Any],
) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning"}
    notes = rule["annotations"]
    for key in ("summary", "description"):
        assert CJK.search(notes[key]) and re.search(r"[A-Za-z]{3}", notes[key]), key
    page, _, anchor = notes["runbook_url"].partition("#")
    assert page == "docs/runbook.md"
    assert anchor in runbook_anchors(), f"no section #{anchor} in docs/runbook.md"


def test_rules_query_only_exported_metrics() -> None:
    names = exported()
    for rule in rules():
        used = set(re.findall(r"\bccwatch_[A-Za-z0-9_]+", rule["expr"]))
        assert used <= set(names), f"{rule['alert']}: unknown {used - set(names)}"


def test_promtool_checks_the_rules() -> None:
    out = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    out = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
