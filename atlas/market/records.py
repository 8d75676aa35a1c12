"""Bookkeeping apart from execution: one fixed-size record per task.

The executing side appends a record (`Ledger.append`, a single
`struct.pack_into` into a preallocated buffer) and does nothing else; the
performance models and the evolution read the records later, off the
task path.  The buffer is a ring: when it is full the oldest records are
overwritten, and `Ledger.lost` counts them."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# kind, unit, outcome, padding (int32 each); task id (int64); start, end,
# earnings, reward (f64: seconds, units); bytes (int64): 64 bytes a record
_FORMAT = struct.Struct("<iiiiqddddq")
RECORD_BYTES = _FORMAT.size
DTYPE = np.dtype(
    [
        ("kind", "<i4"),
        ("unit", "<i4"),
        ("outcome", "<i4"),
        ("pad", "<i4"),
        ("task", "<i8"),
        ("start", "<f8"),
        ("end", "<f8"),
        ("earnings", "<f8"),
        ("reward", "<f8"),
        ("bytes", "<i8"),
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
    writable buffer such as shared memory for a daemon in another process)."""

    def __init__(self, capacity: int = 1 << 16, buffer=None):
        self.capacity = capacity
        self.buffer = buffer if buffer is not None else bytearray(capacity * RECORD_BYTES)
        if len(self.buffer) < capacity * RECORD_BYTES:
            raise ValueError(
                f"a ledger of {capacity} records needs {capacity * RECORD_BYTES} bytes, not {len(self.buffer)}"
            )
        self.written = 0
        self._pack = _FORMAT.pack_into

    def append(self, kind, unit, outcome, task, start, end, earnings, reward, nbytes) -> None:
        self._pack(
            self.buffer,
            (self.written % self.capacity) * RECORD_BYTES,
            kind,
            unit,
            outcome,
            0,
            task,
            start,
            end,
            earnings,
            reward,
            nbytes,
        )
        self.written += 1

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
        return [Record(*row[:3], *row[4:]) for row in self.array().tolist()]
