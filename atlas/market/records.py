"""Bookkeeping apart from execution: one fixed-size record per task.

The executing side appends a record (`Ledger.append`, a single
`struct.pack_into` into a preallocated buffer) and does nothing else; the
performance models and the evolution read the records later, off the
task path.  The buffer is a ring: when it is full the oldest records are
overwritten, and `Ledger.lost` counts them.

A record ends with its *mark*, the number of the ring's lap it was
written in (1 to 255, then 1 again), packed last: another process that
reads the ring as it is written (the market reading its daemons' ledgers,
`Reader`) takes a record once its slot carries the mark of the lap it
expects, and not before, so a record is its own word that the task
ended."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# kind, unit, outcome (int32 each); task id (int64); start, end, earnings,
# reward (f64: seconds, units); bytes (int64); the lap's mark (int32): 64
# bytes a record.  struct packs the fields in this order, the mark last.
_FORMAT = struct.Struct("<iiiqddddqi")
RECORD_BYTES = _FORMAT.size
_MARK = struct.Struct("<i")
_MARK_AT = RECORD_BYTES - _MARK.size
DTYPE = np.dtype(
    [
        ("kind", "<i4"),
        ("unit", "<i4"),
        ("outcome", "<i4"),
        ("task", "<i8"),
        ("start", "<f8"),
        ("end", "<f8"),
        ("earnings", "<f8"),
        ("reward", "<f8"),
        ("bytes", "<i8"),
        ("mark", "<i4"),
    ],
    align=False,
)
assert DTYPE.itemsize == RECORD_BYTES == 64

DONE, FAILED, REQUEUED, SETTLED = 0, 1, 2, 3  # SETTLED: a unit's pay for a whole graph (task -1)


@dataclass(frozen=True)
class Record:
    kind: int
    unit: int
    outcome: int
    task: int
    start: float
    end: float
    earnings: float
    reward: float
    bytes: int


class Ledger:
    """A ring of `capacity` records in one buffer (a bytearray, or any
    writable buffer such as shared memory for a daemon in another process).

    `append` is a closure over the ring's state, not a method: a call then
    reads its few values from cells, not attributes, which is about a fifth
    of what a record costs at the record site (225 against 180 ns here)."""

    def __init__(self, capacity: int = 1 << 16, buffer=None, written: int = 0):
        self.capacity = capacity
        self.buffer = buffer if buffer is not None else bytearray(capacity * RECORD_BYTES)
        if len(self.buffer) < capacity * RECORD_BYTES:
            raise ValueError(
                f"a ledger of {capacity} records needs {capacity * RECORD_BYTES} bytes, not {len(self.buffer)}"
            )
        self.append, self._laps_and_slot = _appender(self.buffer, capacity, written)

    @property
    def written(self) -> int:
        """How many records were appended (`written` those before this view)."""
        laps, slot = self._laps_and_slot()
        return laps * self.capacity + slot

    @property
    def lost(self) -> int:
        return max(0, self.written - self.capacity)

    def array(self) -> np.ndarray:
        """The records still held, oldest first, as a numpy structured array."""
        raw = np.frombuffer(self.buffer, dtype=DTYPE, count=self.capacity)
        n = min(self.written, self.capacity)
        if self.written <= self.capacity:
            return raw[:n].copy()
        head = self.written % self.capacity
        return np.concatenate([raw[head:], raw[:head]])

    def records(self) -> list[Record]:
        return [Record(*row[:9]) for row in self.array().tolist()]


def _appender(buffer, capacity: int, written: int):
    """(append, state): append(kind, unit, outcome, task, start, end,
    earnings, reward, nbytes) packs one record, marked with its lap, at the
    ring's next slot; state() is (laps completed, the next slot)."""
    pack, last = _FORMAT.pack_into, (capacity - 1) * RECORD_BYTES
    laps, slot = divmod(written, capacity)
    at, mark = slot * RECORD_BYTES, laps % 255 + 1

    def append(kind, unit, outcome, task, start, end, earnings, reward, nbytes) -> None:
        nonlocal at, mark, laps
        pack(buffer, at, kind, unit, outcome, task, start, end, earnings, reward, nbytes, mark)
        if at == last:  # the ring's end: the next lap
            at, mark, laps = 0, mark % 255 + 1, laps + 1
        else:
            at += RECORD_BYTES

    def state() -> tuple[int, int]:
        return laps, at // RECORD_BYTES

    return append, state


class Reader:
    """Another process's view of a ledger being written: `next()` is the
    record after the last one taken (its fields as `Record`'s, in order),
    or None while it is not yet written.  The writer never runs a lap
    ahead of the reader (the market sends a daemon only a few tasks at a
    time), so a slot holds either the record expected or an older one."""

    def __init__(self, capacity: int, buffer):
        self.capacity = capacity
        self.buffer = buffer
        self.taken = 0
        self._unpack = _FORMAT.unpack_from
        self._mark = _MARK.unpack_from

    def next(self) -> tuple | None:
        lap, slot = divmod(self.taken, self.capacity)
        at = slot * RECORD_BYTES
        # the mark first: the fields were all written before it, and once it
        # is seen they are too (x86 keeps each core's stores, and loads, in order)
        if self._mark(self.buffer, at + _MARK_AT)[0] != lap % 255 + 1:
            return None
        self.taken += 1
        return self._unpack(self.buffer, at)
