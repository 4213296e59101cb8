"""Offices and terminals in the database (register/admin.py): added, updated, moved and
retired with their audit entries, read by the workers' registry, and from the CLI."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ccwatch.cli import app
from ccwatch.keys import keyring
from models.access import AuditEntry
from models.db import make_engine
from models.reference import Zone
from models.registry import load_registry
from register.admin import (
    OfficeFields,
    add_terminal,
    move_terminal,
    offices,
    retire_terminal,
    save_office,
    terminals,
)
from register.core import Actor, NotFound, Refused

ROOT = Actor("root")
LVSI = OfficeFields("lvsi", "嵊泗县泗礁司法所", "Lvsi", Zone.CENTRAL, 30.72, 122.42)


def _audit(url: str) -> list[AuditEntry]:
    with Session(make_engine(url)) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_an_office_is_added_then_updated_and_the_workers_see_its_zone(url: str) -> None:
    engine = make_engine(url)
    assert save_office(engine, ROOT, LVSI)["created"] is True
    sijiao = OfficeFields("lvsi", "泗礁所", "Sijiao", Zone.EAST, 30.73, 122.43)
    again = save_office(engine, ROOT, sijiao)
    assert again == {
        "office_id": "lvsi", "name_zh": "泗礁所", "name_en": "Sijiao", "zone": "east",
        "lat": 30.73, "lon": 122.43, "created": False,
    }  # fmt: skip
    assert [o for o in offices(engine) if o["office_id"] == "lvsi"] == [
        {k: v for k, v in again.items() if k != "created"}
    ]
    assert [(e.user_id, e.action, e.target) for e in _audit(url)[-2:]] == [
        ("root", "office.add", "lvsi"),
        ("root", "office.update", "lvsi"),
    ]
    for bad in (
        OfficeFields("lv si", "x", "x", Zone.EAST, 30.7, 122.4),  # not an id
        OfficeFields("lvsi", " ", "x", Zone.EAST, 30.7, 122.4),  # no name
        OfficeFields("lvsi", "x", "x", Zone.EAST, 91, 122.4),  # nowhere
    ):
        with pytest.raises(Refused):
            save_office(engine, ROOT, bad)


def test_a_terminal_is_added_with_a_key_whose_secret_is_told_once(url: str) -> None:
    engine = make_engine(url)
    made = add_terminal(engine, ROOT, "T-caiyuan-2", "caiyuan")
    assert made["key_id"] == "T-caiyuan-2.k1" and made["keys"] == ["T-caiyuan-2.k1"]
    registry = load_registry(engine)
    terminal = registry.terminals["T-caiyuan-2"]
    assert (terminal.office_id, terminal.lat, terminal.lon) == ("caiyuan", 30.712, 122.451)
    assert registry.keys["T-caiyuan-2.k1"].secret.hex() == made["secret"]
    [entry] = [e for e in _audit(url) if e.action == "terminal.add"]
    assert entry.target == "T-caiyuan-2" and made["secret"] not in str(entry.detail)
    assert "secret" not in terminals(engine, "caiyuan")[0]
    with pytest.raises(Refused, match="no such office"):
        add_terminal(engine, ROOT, "T-x", "nowhere")
    for taken in ("T-caiyuan-2", "P-SS-0001"):  # a terminal's, a phone's
        with pytest.raises(Refused, match="has this id"):
            add_terminal(engine, ROOT, taken, "caiyuan")
    with pytest.raises(Refused, match="an id is"):
        add_terminal(engine, ROOT, "T/../x", "caiyuan")


def test_a_terminal_moves_and_once_retired_signs_nothing(url: str) -> None:
    engine = make_engine(url)
    moved = move_terminal(engine, ROOT, "T-caiyuan-1", "gouqi")
    assert (moved["office_id"], moved["lat"], moved["lon"]) == ("gouqi", 30.705, 122.782)
    there = move_terminal(engine, ROOT, "T-caiyuan-1", "gouqi", (30.70, 122.78))
    assert (there["lat"], there["lon"]) == (30.70, 122.78)
    assert load_registry(engine).terminals["T-caiyuan-1"].office_id == "gouqi"
    assert "T-caiyuan-1" in keyring(engine)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    retired = retire_terminal(engine, ROOT, "T-caiyuan-1", at)
    assert retired["keys"] == [] and retired["retired_at"] is not None
    assert "T-caiyuan-1" not in keyring(engine)  # its records are refused from then on
    assert "T-caiyuan-1" in load_registry(engine).terminals  # what it sent before stays
    with pytest.raises(Refused, match="retired"):
        retire_terminal(engine, ROOT, "T-caiyuan-1")
    with pytest.raises(Refused, match="retired"):
        move_terminal(engine, ROOT, "T-caiyuan-1", "caiyuan")
    with pytest.raises(NotFound):
        retire_terminal(engine, ROOT, "T-none")
    actions = [(e.action, e.detail) for e in _audit(url) if e.target == "T-caiyuan-1"]
    assert [a for a, _ in actions] == ["terminal.move", "terminal.move", "terminal.retire"]
    assert actions[-1][1]["keys"] == ["T-caiyuan-1.k1"]


def test_offices_and_terminals_from_the_command_line(url: str) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["office", "add", "lvsi", "--zh", "泗礁所[b]", "--en", "Lvsi", "--zone", "central",
         "--location", "30.72,122.42"],
    )  # fmt: skip
    assert added.exit_code == 0 and "added" in added.output, added.output
    assert "泗礁所[b]" in runner.invoke(app, ["office", "list"]).output  # text, not markup
    kiosk = runner.invoke(app, ["terminal", "add", "T-lvsi-1", "--office", "lvsi"])
    assert kiosk.exit_code == 0 and "T-lvsi-1.k1" in kiosk.output, kiosk.output
    secret = kiosk.output.strip().splitlines()[-1]
    assert len(secret) == 64 and secret not in runner.invoke(app, ["terminal", "list"]).output
    assert runner.invoke(app, ["terminal", "add", "T-lvsi-1", "--office", "lvsi"]).exit_code == 2
    assert runner.invoke(app, ["terminal", "move", "T-none", "--office", "lvsi"]).exit_code == 1
    gone = runner.invoke(app, ["terminal", "retire", "T-lvsi-1"])
    assert gone.exit_code == 0, gone.output
    listed = runner.invoke(app, ["terminal", "list", "--office", "lvsi"]).output
    assert "T-lvsi-1" in listed and "T-lvsi-1.k1" not in listed  # no key in force
    mine = {(e.user_id, e.action) for e in _audit(url)}
    assert {(f"cli:{getpass.getuser()}", a) for a in ("office.add", "terminal.retire")} <= mine
