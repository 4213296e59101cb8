"""Device keys in the database: seeded for every kiosk and phone, enrolled, rotated and
retired from the CLI, and taken up by a worker's registry refresh without a restart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from alerts.clock import ManualClock
from ccwatch.cli import app
from ccwatch.reference import shengsi
from ccwatch.seed import seed
from models.db import make_engine
from models.events import LocationFix, Rejection, encode
from models.reference import DeviceKeyRow
from models.registry import load_registry
from models.signing import sign
from models.values import DeviceKey
from scoring.rules import load_ruleset
from streams.pipeline import Pipeline
from tests.factories import INSIDE, T0, fix

M = timedelta(minutes=1)


def test_seed_enrols_a_key_for_every_terminal_and_phone_once(url: str) -> None:
    ref = shengsi()
    keys = load_registry(make_engine(url)).keys
    by_device = {k.device_id: k for k in keys.values()}
    for office in ref.offices:
        assert by_device[ref.terminal_id(office.id)].subject_id is None
    for person in ref.subjects:
        assert by_device[ref.device_id(person.id)].subject_id == person.id
    assert len(keys) == len(ref.offices) + len(ref.subjects)
    seed(make_engine(url))  # again: nothing new
    with Session(make_engine(url)) as session:
        assert session.scalar(select(func.count()).select_from(DeviceKeyRow)) == len(keys)


def test_rotation_from_the_cli(url: str) -> None:
    runner = CliRunner()
    engine = make_engine(url)
    pipeline = Pipeline(load_registry(engine), load_ruleset(), ManualClock(T0 + 60 * M), 300)

    def check(record: LocationFix) -> str:
        result = pipeline.validate_location(encode(record), b"SS-0007")
        return result.reason if isinstance(result, Rejection) else "ok"

    enrolled = runner.invoke(app, ["keys", "enrol", "P-SS-0007"])  # the phone's second key
    assert enrolled.exit_code == 0, enrolled.output
    secret = bytes.fromhex(enrolled.output.strip().splitlines()[-1])
    new = DeviceKey("P-SS-0007.k2", "P-SS-0007", "SS-0007", secret)
    assert check(sign(fix(1, M, INSIDE), new)) == "unknown_key"  # not yet refreshed
    pipeline.use(load_registry(engine))  # the worker's registry refresh
    assert check(sign(fix(1, M, INSIDE), new)) == "ok"
    old = fix(2, 10 * M, INSIDE)  # signed with the seeded k1
    assert check(old) == "ok"
    retired = runner.invoke(app, ["keys", "retire", "P-SS-0007.k1", "--at", T0.isoformat()])
    assert retired.exit_code == 0, retired.output
    pipeline.use(load_registry(engine))
    assert check(old) == "retired_key"
    assert check(fix(3, -M, INSIDE)) == "ok"  # dated before the retirement

    listed = runner.invoke(app, ["keys", "list", "--device", "P-SS-0007"])
    assert "P-SS-0007.k1" in listed.output and "P-SS-0007.k2" in listed.output
    assert secret.hex() not in listed.output


def test_the_cli_refuses_what_it_cannot_enrol(url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "enrol", "P-new"]).exit_code == 2  # no subject given
    assert runner.invoke(app, ["keys", "enrol", "P-new", "--subject", "SS-9999"]).exit_code == 2
    phone = runner.invoke(app, ["keys", "enrol", "P-new", "--subject", "SS-0001"])
    assert phone.exit_code == 0 and "P-new.k1" in phone.output
    kiosk = runner.invoke(app, ["keys", "enrol", "T-caiyuan-1"])
    assert kiosk.exit_code == 0 and "T-caiyuan-1.k2" in kiosk.output
    assert runner.invoke(app, ["keys", "retire", "nope"]).exit_code == 1
    assert (
        runner.invoke(app, ["keys", "retire", "T-caiyuan-1.k2", "--at", "2026-11-29"]).exit_code
        == 2
    )
