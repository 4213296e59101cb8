"""Register changes told to the workers: in every log a worker judges, the internal ones
first (:mod:`register.notify`); and the reads of the register they ask for
(:class:`streams.worker.Rereads`): one at a time, each begun after whoever waits for it
asked, shared as far as that allows."""

from __future__ import annotations

import asyncio

import pytest

from register.notify import told
from streams.topics import TopicNames
from streams.worker import Rereads


def test_a_change_is_told_in_every_log_a_worker_judges_the_derived_ones_first() -> None:
    topics = TopicNames("ccwatch")
    first, then = told(topics)
    assert set(first) == {topics.control, topics.groups, topics.sightings}
    assert set(first + then) == set(topics.inputs()) | {topics.groups, topics.sightings}
    assert not set(first) & set(then)


class Register:
    """A register whose reads are counted and finish when told to."""

    def __init__(self) -> None:
        self.begun = 0
        self.running = 0
        self.gates: list[asyncio.Event] = []
        self.fail = False

    async def read(self) -> None:
        self.begun += 1
        self.running += 1
        assert self.running == 1, "reads overlap"
        gate = asyncio.Event()
        self.gates.append(gate)
        try:
            await gate.wait()
            if self.fail:
                raise OSError("database away")
        finally:
            self.running -= 1

    async def finish(self) -> None:
        while not self.gates:
            await asyncio.sleep(0)
        self.gates.pop(0).set()
        for _ in range(5):
            await asyncio.sleep(0)


async def test_a_call_during_a_read_waits_for_the_next_one() -> None:
    register = Register()
    rereads = Rereads(register.read)
    first = asyncio.ensure_future(rereads.after())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert register.begun == 1  # begun: a call from now on needs another read
    second = asyncio.ensure_future(rereads.after())
    third = asyncio.ensure_future(rereads.after())  # asks before the next read begins: shares it
    await register.finish()
    assert first.done() and not second.done() and register.begun == 2
    await register.finish()
    assert second.done() and third.done() and register.begun == 2


async def test_every_copy_of_one_change_shares_the_read_begun_after_the_first() -> None:
    register = Register()
    rereads = Rereads(register.read)
    copies = [asyncio.ensure_future(rereads.after("change-1"))]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    copies.append(asyncio.ensure_future(rereads.after("change-1")))  # read under way
    await register.finish()
    assert all(c.done() for c in copies) and register.begun == 1
    await rereads.after("change-1")  # a later copy: that read began after the change came
    assert register.begun == 1
    other = asyncio.ensure_future(rereads.after("change-2"))
    await register.finish()
    assert other.done() and register.begun == 2


async def test_a_failed_read_is_raised_to_its_callers_and_the_next_call_reads_again() -> None:
    register = Register()
    rereads = Rereads(register.read)
    register.fail = True
    failed = asyncio.ensure_future(rereads.after("change-1"))
    await register.finish()
    with pytest.raises(OSError):
        await failed
    register.fail = False
    again = asyncio.ensure_future(rereads.after())
    await register.finish()
    await again
    assert register.begun == 2
