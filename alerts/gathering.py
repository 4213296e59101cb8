"""Gathering (聚集): co-offenders within a distance of each other for a time.

Two halves, both pure:

- the **group detector** sees every fix of every member of one group (a case's
  co-offenders): the workers repartition those fixes by group, so all of a group's members
  meet in one place whatever partitions their own records live in. Fixes are held until
  every member's own fixes have got past them (:func:`group_watermark`), then judged in
  event-time order: per pair, the run of time they have been together; ``together`` once a
  run lasts the dwell time, ``apart`` when it ends;
- the **subject detector** turns those decisions, sent back to each subject's partition as
  :class:`~models.events.Sighting` records, into the subject's gathering alert.

A run's identity is the pair and the event time it began, so the same fixes give the same
alert ids in any arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta

import msgspec
from geopy.distance import great_circle

from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertType, LocationFix, Sighting
from models.ids import derive_id

PRESENCE = timedelta(minutes=15)  # a fix says where someone is for this long


class Presence(msgspec.Struct, frozen=True):
    at: datetime
    lat: float
    lon: float


class Run(msgspec.Struct, frozen=True):
    since: datetime  # event time the pair was first seen close
    last: datetime  # event time they were last seen close
    lat: float
    lon: float
    raised: bool = False


class GroupState(msgspec.Struct, frozen=True, omit_defaults=True):
    present: dict[str, Presence] = {}
    runs: dict[str, Run] = {}  # "a|b" -> the pair's current run


def _sightings(pair: str, run: Run, at: datetime, together: bool) -> list[Sighting]:
    a, b = pair.split("|")
    return [
        Sighting(
            event_id=derive_id("sighting", pair, run.since.isoformat(), who, str(together)),
            subject_id=who,
            others=[mate],
            since=run.since,
            occurred_at=at,
            lat=run.lat,
            lon=run.lon,
            together=together,
        )
        for who, mate in ((a, b), (b, a))
    ]


def group_due(state: GroupState, dwell: timedelta) -> datetime | None:
    """When the earliest run ends for want of being seen together (twice the dwell)."""
    return min((r.last + 2 * dwell for r in state.runs.values()), default=None)


def group_step(
    state: GroupState, item: LocationFix | Time, distance_m: float, dwell: timedelta
) -> tuple[GroupState, list[Sighting]]:
    """One member's fix, or event time reaching a deadline, in event-time order."""
    if isinstance(item, Time):
        runs, out = dict(state.runs), []
        for pair, run in state.runs.items():
            if item.at >= run.last + 2 * dwell:
                del runs[pair]
                if run.raised:
                    out += _sightings(pair, run, item.at, together=False)
        return GroupState(state.present, runs), out
    fix, now = item, item.occurred_at
    present = {s: p for s, p in state.present.items() if now - p.at <= PRESENCE}
    present[fix.subject_id] = Presence(now, fix.lat, fix.lon)
    runs, out = dict(state.runs), []
    for other, p in sorted(present.items()):
        if other == fix.subject_id:
            continue
        pair = "|".join(sorted((fix.subject_id, other)))
        found = runs.get(pair)
        if great_circle((fix.lat, fix.lon), (p.lat, p.lon)).meters > distance_m:
            if found is not None:  # seen apart: the run ends
                del runs[pair]
                if found.raised:
                    out += _sightings(pair, found, now, together=False)
            continue
        run = msgspec.structs.replace(
            found or Run(now, now, fix.lat, fix.lon), last=now, lat=fix.lat, lon=fix.lon
        )
        if not run.raised and now - run.since >= dwell:
            run = msgspec.structs.replace(run, raised=True)
            out += _sightings(pair, run, now, together=True)
        runs[pair] = run
    return GroupState(present, runs), out


class Together(msgspec.Struct, frozen=True):
    """No state of its own: the group detector decides, the alert book remembers."""


class Gathering:
    """The subject half: a sighting opens the alert, the end of the run clears it."""

    name = "gathering"
    kinds: tuple[AlertType, ...] = ("gathering",)
    State = Together

    def due(self, ctx: Context, state: Together, book: AlertBook) -> datetime | None:
        return None

    def step(self, ctx: Context, state: Together, book: AlertBook, item: Input) -> Step:
        if not isinstance(item, Sighting):
            return state, book, []
        if not item.together:
            book, events = clear(
                ctx, book, "gathering", item.event_id, item.occurred_at, ("已分开", "apart again")
            )
            return state, book, events
        others = ", ".join(item.others)
        book, events = raise_alert(
            ctx,
            book,
            "gathering",
            [derive_id("gathering", item.subject_id, *item.others, item.since.isoformat())],
            item.since,
            (f"与同案人员 {others} 聚集", f"together with co-offender {others}"),
            (item.lat, item.lon, 0.0),
        )
        return state, book, events


DETECTOR = Gathering()


class GroupBuffer(msgspec.Struct, frozen=True, omit_defaults=True):
    """A group's detector state and the members' fixes not yet judged (durable: they wait
    until every member's own fixes have got past them)."""

    state: GroupState = GroupState()
    pending: tuple[LocationFix, ...] = ()
    at: datetime | None = None  # event time judged up to
    latest: dict[str, datetime] = {}  # member -> event time of its latest fix


def group_watermark(
    buf: GroupBuffer, members: Collection[str], marks: datetime | None, wait: timedelta
) -> datetime | None:
    """How far a group may be judged: as far as its slowest member's fixes have got (each
    member's fixes come in its own order), or, past a member silent too long (or never
    heard from), as far as the workers' event time less ``wait``."""
    heard = [buf.latest.get(m) for m in members]
    slowest = None if None in heard or not heard else min(t for t in heard if t is not None)
    fallback = None if marks is None else marks - wait
    if slowest is None or (fallback is not None and fallback > slowest):
        return fallback
    return slowest


def _order(fix: LocationFix) -> tuple[datetime, str, str]:
    return fix.occurred_at, fix.subject_id, fix.event_id


def group_push(buf: GroupBuffer, fix: LocationFix) -> GroupBuffer | None:
    """Hold a member's fix until the watermark passes it; None when it comes too late
    (event time already judged past it), and a repeat changes nothing."""
    if buf.at is not None and fix.occurred_at <= buf.at:
        return None
    if any(f.event_id == fix.event_id for f in buf.pending):
        return buf
    who, t = fix.subject_id, fix.occurred_at
    latest = {**buf.latest, who: max(t, buf.latest.get(who, t))}
    pending = tuple(sorted((*buf.pending, fix), key=_order))
    return msgspec.structs.replace(buf, pending=pending, latest=latest)


Limits = tuple[float, timedelta]  # gathering distance (m) and dwell, in force at a time


def group_release(
    buf: GroupBuffer, watermark: datetime, limits: Callable[[datetime], Limits]
) -> tuple[GroupBuffer, list[Sighting]]:
    """Judge, in event-time order, every held fix and every deadline up to ``watermark``:
    the same fixes give the same sightings, whatever order they arrived in."""
    state, pending, out = buf.state, list(buf.pending), []
    at = buf.at
    while True:
        fix_at = pending[0].occurred_at if pending else None
        due = group_due(state, limits(at or watermark)[1])
        if due is not None and fix_at is not None and fix_at <= due:
            due = None  # the fix comes first (a deadline at the same time waits for it)
        if fix_at is not None and fix_at <= watermark and due is None:
            fix = pending.pop(0)
            distance, dwell = limits(fix.occurred_at)
            state, more = group_step(state, fix, distance, dwell)
            at = fix.occurred_at
        elif due is not None and due <= watermark:
            distance, dwell = limits(due)
            state, more = group_step(state, Time(due), distance, dwell)
            at = due
        else:
            break
        out += more
    at = watermark if at is None else max(at, watermark)  # nothing at or before it is left
    new = GroupBuffer(state, tuple(pending), at, buf.latest)
    return (buf if new == buf else new), out
