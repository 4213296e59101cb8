"""Meetings by group: co-offenders gathering (聚集), and a subject meeting a person a
prohibition order names (禁止接触, :mod:`alerts.no_contact`).

Two halves, both pure:

- the **group detector** sees every fix of every member of one group: co-offenders (a
  case) and the subjects prohibition orders name to each other, joined (:func:`groups`).
  The workers repartition those fixes by group, so all of a group's members meet in one
  place whatever partitions their own records live in. Fixes are held until every
  member's own fixes have got past them (:func:`group_watermark`), then judged in
  event-time order: per pair and watch (:class:`Watch`: gathering for co-offenders,
  no-contact where an order names one to the other), the run of time they have been
  close; ``together`` once a run lasts the watch's dwell time, ``apart`` when it ends;
- the **subject detector** (:class:`Meeting`) turns those decisions, sent back to each
  subject's partition as :class:`~models.events.Sighting` records, into the subject's
  alert of the watch's kind.

A run's identity is the pair, the watch and the event time it began, so the same fixes
give the same alert ids in any arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import msgspec

from alerts.geofence import metres_between
from alerts.lifecycle import AlertBook, clear, raise_alert
from alerts.policy import Thresholds
from alerts.protocol import Context, Input, Step, Time
from models.events import AlertType, LocationFix, Sighting, Watched
from models.ids import derive_id

PRESENCE = timedelta(minutes=15)  # a fix says where someone is for this long


class Presence(msgspec.Struct, frozen=True):
    at: datetime
    lat: float
    lon: float


class Run(msgspec.Struct, frozen=True, omit_defaults=True):
    since: datetime  # event time the pair was first seen close
    last: datetime  # event time they were last seen close
    lat: float
    lon: float
    raised: bool = False
    kind: Watched = "gathering"
    told: tuple[str, ...] = ()  # who is alerted; () both of the pair


class GroupState(msgspec.Struct, frozen=True, omit_defaults=True):
    present: dict[str, Presence] = {}
    runs: dict[str, Run] = {}  # "a|b" (gathering), "a|b|no_contact" -> the current run


@dataclass(frozen=True, slots=True)
class Watch:
    """How a pair is watched at a time: close within ``distance_m`` for ``dwell`` raises
    an alert of ``kind`` for ``told`` (() both: co-offenders)."""

    kind: Watched
    distance_m: float
    dwell: timedelta
    told: tuple[str, ...] = ()


Watches = Callable[[str, str], tuple[Watch, ...]]  # a pair (in id order) -> its watches
Limits = Callable[[datetime], Watches]  # the watches in force at a time


def watches(
    limits: Thresholds, cases: Mapping[str, str | None], named: Collection[tuple[str, str]]
) -> Watches:
    """Co-offenders (the same case) are watched for gathering; a subject and a person an
    order in force names to them (``named``: (subject, person)) for contact, the alert
    going to the order's subject."""
    together = Watch(
        "gathering", limits.gathering_distance_m, timedelta(seconds=limits.gathering_dwell_s)
    )
    near = Watch(
        "no_contact", limits.no_contact_distance_m, timedelta(seconds=limits.no_contact_dwell_s)
    )

    def pair(a: str, b: str) -> tuple[Watch, ...]:
        case = cases.get(a)
        told = tuple(x for x, y in ((a, b), (b, a)) if (x, y) in named)
        return (
            *((together,) if case is not None and case == cases.get(b) else ()),
            *((replace(near, told=told),) if told else ()),
        )

    return pair


def groups(
    cases: Mapping[str, str | None], named: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, ...]]:
    """Whose fixes meet where: co-offenders, joined with the subjects orders name to each
    other (connected, so each subject is in one group). A group is named by its case, or,
    joined, by its cases and its members without one (``C-1+SS-0020``)."""
    parent = {s: s for s in cases}

    def root(s: str) -> str:
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    def join(a: str, b: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first: dict[str, str] = {}
    for s, case in sorted(cases.items()):
        if case is not None:
            join(first.setdefault(case, s), s)
    linked = set()
    for a, b in named:
        if a in parent and b in parent and a != b:
            join(a, b)
            linked |= {a, b}
    members: dict[str, list[str]] = {}
    for s in sorted(cases):
        if cases[s] is not None or s in linked:
            members.setdefault(root(s), []).append(s)
    return {"+".join(sorted({cases[s] or s for s in ids})): tuple(ids) for ids in members.values()}


def _sightings(pair: str, run: Run, at: datetime, together: bool) -> list[Sighting]:
    a, b, *_ = pair.split("|")
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
            kind=run.kind,
        )
        for who, mate in ((a, b), (b, a))
        if not run.told or who in run.told
    ]


def _ends(watches: Watches, pair: str, run: Run) -> datetime:
    """When a run ends for want of being seen close: twice its watch's dwell after it was
    last, and no sooner than a fix's presence (a short dwell must survive the time between
    two fixes); at once when its watch is no longer in force (an order lifted or ended)."""
    a, b, *_ = pair.split("|")
    dwell = next((w.dwell for w in watches(a, b) if w.kind == run.kind), None)
    return run.last + (timedelta(0) if dwell is None else max(2 * dwell, PRESENCE))


def group_due(state: GroupState, watches: Watches) -> datetime | None:
    """When the earliest run ends."""
    return min((_ends(watches, p, r) for p, r in state.runs.items()), default=None)


def group_step(
    state: GroupState, item: LocationFix | Time, watches: Watches
) -> tuple[GroupState, list[Sighting]]:
    """One member's fix, or event time reaching a deadline, in event-time order."""
    if isinstance(item, Time):
        runs, out = dict(state.runs), []
        for pair, run in state.runs.items():
            if item.at >= _ends(watches, pair, run):
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
        a, b = sorted((fix.subject_id, other))
        metres = metres_between(fix.lat, fix.lon, p.lat, p.lon)
        for watch in watches(a, b):
            pair = f"{a}|{b}" if watch.kind == "gathering" else f"{a}|{b}|{watch.kind}"
            found = runs.get(pair)
            if metres > watch.distance_m:
                if found is not None:  # seen apart: the run ends
                    del runs[pair]
                    if found.raised:
                        out += _sightings(pair, found, now, together=False)
                continue
            run = msgspec.structs.replace(
                found or Run(now, now, fix.lat, fix.lon, kind=watch.kind, told=watch.told),
                last=now,
                lat=fix.lat,
                lon=fix.lon,
            )
            if not run.raised and now - run.since >= watch.dwell:
                run = msgspec.structs.replace(run, raised=True)
                out += _sightings(pair, run, now, together=True)
            runs[pair] = run
    return GroupState(present, runs), out


class Together(msgspec.Struct, frozen=True):
    """No state of its own: the group detector decides, the alert book remembers."""


class Meeting:
    """The subject half: a sighting of its kind opens the alert, the end of the run clears
    it. ``reason`` says whom the subject was with, in Chinese and English."""

    State = Together

    def __init__(self, kind: Watched, reason: Callable[[str], tuple[str, str]]) -> None:
        self.name: str = kind
        self.kind: Watched = kind
        self.kinds: tuple[AlertType, ...] = (kind,)
        self.reason = reason

    def due(self, ctx: Context, state: Together, book: AlertBook) -> datetime | None:
        return None

    def step(self, ctx: Context, state: Together, book: AlertBook, item: Input) -> Step:
        if not isinstance(item, Sighting) or item.kind != self.kind:
            return state, book, []
        if not item.together:
            book, events = clear(
                ctx, book, self.kind, item.event_id, item.occurred_at, ("已分开", "apart again")
            )
            return state, book, events
        book, events = raise_alert(
            ctx,
            book,
            self.kind,
            [derive_id(self.kind, item.subject_id, *item.others, item.since.isoformat())],
            item.since,
            self.reason(", ".join(item.others)),
            (item.lat, item.lon, 0.0),
        )
        return state, book, events


DETECTOR = Meeting(
    "gathering", lambda others: (f"与同案人员 {others} 聚集", f"together with co-offender {others}")
)


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


def group_release(
    buf: GroupBuffer, watermark: datetime, limits: Limits
) -> tuple[GroupBuffer, list[Sighting]]:
    """Judge, in event-time order, every held fix and every deadline up to ``watermark``:
    the same fixes give the same sightings, whatever order they arrived in."""
    state, pending, out = buf.state, list(buf.pending), []
    at = buf.at
    while True:
        fix_at = pending[0].occurred_at if pending else None
        due = group_due(state, limits(at or watermark))
        if due is not None and fix_at is not None and fix_at <= due:
            due = None  # the fix comes first (a deadline at the same time waits for it)
        if fix_at is not None and fix_at <= watermark and due is None:
            fix = pending.pop(0)
            state, more = group_step(state, fix, limits(fix.occurred_at))
            at = fix.occurred_at
        elif due is not None and due <= watermark:
            state, more = group_step(state, Time(due), limits(due))
            at = due
        else:
            break
        out += more
    at = watermark if at is None else max(at, watermark)  # nothing at or before it is left
    new = GroupBuffer(state, tuple(pending), at, buf.latest)
    return (buf if new == buf else new), out
