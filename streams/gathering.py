"""Gathering's repartition: co-offenders' fixes meet by group; decisions go back by subject.

A group judges its members' fixes in event-time order once every member's own fixes have
got past them (:func:`alerts.gathering.group_watermark`), so a backlog in which one
subject's partition runs ahead of another's changes nothing; a member silent for longer
than the policy's ``group_wait_s`` holds nothing back past the workers' event time (the
lowest of the source partitions' marks). A group's held fixes and its detector state live
in a table: a restart loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from faust.types import StreamT

from alerts.clock import Marks
from alerts.gathering import GroupBuffer, group_push, group_release, group_watermark
from models.events import GroupFix, Mark, Rejection, Sighting, decode, decode_group, encode
from streams import metrics
from streams.control import partition_of
from streams.guard import persist
from streams.topics import TABLES
from streams.worker import Worker

_dump = msgspec.msgpack.Encoder().encode
_load = msgspec.msgpack.Decoder(GroupBuffer).decode


def register(w: Worker) -> None:
    groups = w.app.Table(
        TABLES[1], default=None, partitions=w.settings.partitions, key_type=bytes,
        value_type=bytes,
    )  # fmt: skip
    w.tables["groups"] = groups
    marks: dict[int, Marks] = {}
    held: dict[int, set[bytes]] = {}  # group partition -> groups with fixes held

    wait = timedelta(seconds=w.pipeline.policy.group_wait_s)

    async def release(partition: int, keys: set[bytes], marked: datetime | None) -> None:
        for key in sorted(keys):
            raw = groups.get(key)
            buf = GroupBuffer() if raw is None else _load(raw)
            members = w.pipeline.members(key.decode())
            watermark = group_watermark(buf, members, marked, wait)
            if watermark is None:
                continue
            new, sightings = group_release(buf, watermark, w.pipeline.group_limits(key.decode()))
            if new is not buf:
                groups[key] = _dump(new)
            if not new.pending and not new.state.runs:  # an open run still has a deadline
                held.get(partition, set()).discard(key)
            for seen in sightings:
                sightings_topic = w.topic("sightings")
                key, value = seen.subject_id.encode(), encode(seen)
                await persist("sending a sighting", sightings_topic.send, key=key, value=value)

    async def on_groups(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            record = decode_group(event.value)
            if isinstance(record, Rejection):
                if not await w.told(event):  # a register change: what follows waits for it
                    await w.dead_letter(event, record)
                continue
            partition, n = event.message.partition, w.settings.partitions
            mark = marks.setdefault(partition, Marks(n))
            if partition not in held:  # first record since assignment: groups still holding
                held[partition] = {
                    k
                    for k, v in groups.items()
                    if partition_of(k, n) == partition and ((b := _load(v)).pending or b.state.runs)
                }
            if isinstance(record, GroupFix):
                key = event.key
                raw = groups.get(key)
                buf = GroupBuffer() if raw is None else _load(raw)
                pushed = group_push(buf, record.fix)
                if pushed is None:
                    metrics.LATE_GROUP_FIXES.inc()
                elif pushed is not buf:
                    groups[key] = _dump(pushed)
                    held.setdefault(partition, set()).add(key)
            else:
                mark.saw(record.source, record.at)
            keys = {event.key} if isinstance(record, GroupFix) else set(held.get(partition, ()))
            if keys & held.get(partition, set()):
                await release(partition, keys, mark.value())

    async def on_sightings(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            seen = decode(event.value, Sighting)
            if isinstance(seen, Rejection):
                await w.told(event)  # a register change: what follows waits for it
                continue
            if seen.subject_id not in w.pipeline.registry.subjects:
                continue
            async with w.turn(event.message.partition):  # the subject's partition
                current = w.current(event.key)
                if w.stale(event):
                    continue
                outcome = w.pipeline.apply_sighting(current, seen)
                await persist("publishing a sighting", w.publish, event.key, current, outcome)

    @w.app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(sender: object, *args: object, **kwargs: object) -> None:
        marks.clear()  # another worker may own them next: start again from the table
        held.clear()

    w.app.agent(w.topic("groups"), name="groups")(on_groups)
    w.app.agent(w.topic("sightings"), name="sightings")(on_sightings)


def mark_record(source: int, at: datetime) -> bytes:
    return encode(Mark(source=source, at=at))
