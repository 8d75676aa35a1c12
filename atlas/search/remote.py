"""Candidates timed on other machines: the nodes of a Ray cluster whose
probe fingerprint is the target's (as the remote runners of autotuners
time kernels on the boards they are for).  `atlas compile --hw
probe.json --ray ADDRESS` searches for a machine it is not running on.

A timer actor on each matching node receives the candidate's artefact
folder packed, unpacks it, and times it there as worker.measure does on
this machine (a child process, a time limit); each node times one
candidate at a time, so its timings stay clean, and the search sends its
candidates to the nodes in turn.  What comes back goes into the archive
as if it had been measured here, under the target's fingerprint."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..machine import nodes
from . import worker

START_TIMEOUT = 120.0  # seconds for a node's timer to come up and say what it is


class Timer:
    """On one node: its fingerprint; a candidate timed there."""

    def fingerprint(self) -> str:
        from ..machine import probe as hwprobe

        return hwprobe.fingerprint(hwprobe.probe())

    def measure(self, blob: bytes, function: str, args, options: dict) -> worker.Measurement:
        where = Path(tempfile.mkdtemp(prefix="atlas-remote-candidate-"))
        try:
            nodes.unpack(blob, where)
            return worker.measure(where, function, args, **options)
        finally:
            shutil.rmtree(where, ignore_errors=True)


class Remote:
    """The cluster's nodes of one fingerprint, timing candidates in turn."""

    def __init__(self, address: str | None, fingerprint: str):
        nodes.connect(address)
        ray = nodes.ray_module()
        timer = ray.remote(Timer)
        everyone = {i: timer.options(**nodes.on(i)).remote() for i in nodes.alive()}
        asked = [t.fingerprint.remote() for t in everyone.values()]
        prints = dict(zip(everyone, ray.get(asked, timeout=START_TIMEOUT)))
        self.fingerprint = fingerprint
        self.nodes = [i for i in everyone if prints[i] == fingerprint]
        for i, t in everyone.items():
            if i not in self.nodes:
                ray.kill(t)
        if not self.nodes:
            seen = ", ".join(sorted(set(prints.values()))) or "none"
            raise nodes.ClusterError(
                f"no node of the Ray cluster at {address} has fingerprint {fingerprint} (its nodes have: {seen})"
            )
        self.timers: list[Any] = [everyone[i] for i in self.nodes]
        self._turn = itertools.cycle(range(len(self.timers)))
        self.measured = 0

    def measure(self, artefact_dir, function: str, args, **options) -> worker.Measurement:
        """worker.measure, on the next node in turn (`cpu` is the node's to choose)."""
        ray = nodes.ray_module()
        options.pop("cpu", None)
        blob = nodes.pack(Path(artefact_dir))
        timer = self.timers[next(self._turn)]
        self.measured += 1
        return ray.get(timer.measure.remote(blob, function, args, options))

    def close(self) -> None:
        ray = nodes.ray_module()
        for t in self.timers:
            ray.kill(t)
        self.timers = []
