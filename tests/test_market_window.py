"""How many tasks a market sends a unit ahead: a fixed `prefetch`, or the
adaptive window (the default), which holds more of them only while the
history predicts they are short.  Run on a crew in this process that
answers each task at once, with the run time the test gives its kind,
so what is measured is the session's choices, not a clock."""

from __future__ import annotations

import time

import numpy as np
import pytest

from atlas.front.syntax import parse
from atlas.front.check import check
from atlas.market import policies, session
from atlas.market.session import Crew, Front, Said, Send
from atlas.market.sim import UnitSpec

RUN_TIME = {"short": 2e-6, "mid": 3e-4, "long": 5e-3}  # seconds each kind reports
SOURCE = "".join(f"fn {kind}(n: u64) {{\n}}\n" for kind in RUN_TIME)


class _Instant(Crew):
    """Two units that run what they are sent at once, one task per wait,
    and keep the most tasks each ever held."""

    def __init__(self):
        self.specs = (UnitSpec("cpu0", "cpu"), UnitSpec("cpu1", "cpu"))
        self.held: list[list[Send]] = [[], []]
        self.most = [0, 0]
        self.clock = 0.0

    def start(self):
        self.clock = time.perf_counter()  # the market's clock: it times units out on it

    def send(self, unit, task):
        self.held[unit].append(task)
        self.most[unit] = max(self.most[unit], len(self.held[unit]))

    def wait(self, timeout):
        out = []
        for unit, queue in enumerate(self.held):
            if queue:
                t = queue.pop(0)
                start, self.clock = self.clock, self.clock + RUN_TIME[t.call.function]
                out.append(Said(unit, t.ident, t.attempt, start, self.clock, None))
        return out

    def replace(self, unit):
        return True

    def stop(self):
        return []


class _Front(Front):
    def __init__(self, prefetch):
        super().__init__(timeout=60.0, retries=0, prefetch=prefetch)
        module = check(parse(SOURCE, "<window>"))
        self._functions("<window>", 0, {f.name: f for f in module.functions})
        self.last: _Instant | None = None

    def put(self, array, name=None):
        raise NotImplementedError

    def units(self):
        return _Instant().specs

    def crew(self, inject):
        self.last = _Instant()
        return self.last


def _most_held(kind: str, prefetch: int | None, n: int = 400) -> int:
    front = _Front(prefetch)
    for i in range(n):
        front.submit(kind, i)
    out = front.run(policies.Eager())
    assert not out.failed and len(out.run.times) == n
    assert front.last is not None
    return max(front.last.most)


def test_short_tasks_go_in_rounds_up_to_the_window():
    most = _most_held("short", None)
    assert 2 < most <= session.AHEAD + 1


def test_long_tasks_are_held_one_ahead_as_with_prefetch_one():
    assert _most_held("long", None) == 2
    assert _most_held("long", 1) == 2


@pytest.mark.parametrize("prefetch", [0, 3])
def test_a_fixed_prefetch_is_kept_whatever_the_tasks_take(prefetch):
    assert _most_held("short", prefetch) == prefetch + 1


def test_the_window_holds_no_more_predicted_work_than_its_horizon():
    """Tasks of 0.3 ms: beyond the running one, a unit holds at most what
    fits under the horizon, plus the one that crossed it."""
    most = _most_held("mid", None)
    fits = int(np.ceil(session.HORIZON / RUN_TIME["mid"]))
    assert 2 < most <= fits + 2
