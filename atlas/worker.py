"""Measure a compiled candidate in a separate process, under a time limit.

    m = measure("out/saxpy", "saxpy", [4, np.float32(2), x, y], repeats=7, timeout_s=10)
    m.status        # "ok" | "crashed" | "timeout" | "error"
    m.median_ns     # median of the timed calls (None unless ok)
    m.result        # {"return": value, "arrays": {position: array}} from the first call

A candidate is machine code the search has not run before: it may crash
(SIGSEGV, abort) or never return.  Running it in a child process means such
a candidate costs only itself; the parent kills a child that overruns.

The child is `python -m atlas.worker`: the request is pickled to its stdin,
the reply pickled back on a private copy of its stdout (the real stdout is
pointed at stderr, so anything the candidate prints cannot corrupt the
reply).  A subprocess rather than multiprocessing so that callers need no
`if __name__ == "__main__"` guard and nothing of the parent is inherited.
"""
from __future__ import annotations

import os
import pickle
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, Union

Args = Union[Sequence[Any], Callable[[], Sequence[Any]]]


@dataclass
class Measurement:
    status: str                          # "ok" | "crashed" | "timeout" | "error"
    detail: str = ""                     # signal name, exception text, or why it timed out
    times_ns: list = field(default_factory=list)
    median_ns: float | None = None
    result: dict | None = None           # {"return": value, "arrays": {index: ndarray}}
    wall_s: float = 0.0                  # the child's life, start-up included

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def measure(artefact_dir, function: str, args: Args, *, repeats: int = 7,
            timeout_s: float = 10.0, check_cpu: bool = True) -> Measurement:
    """Run `function` of the artefact in `artefact_dir` in a child process:
    one warm-up call, then `repeats` timed calls, each on fresh copies of
    the array arguments.  `args` is the list of inputs (numpy arrays and
    scalars), or a picklable callable that returns it in the child."""
    request = pickle.dumps({"dir": str(Path(artefact_dir).resolve()), "function": function,
                            "args": args, "repeats": int(repeats), "check_cpu": check_cpu})
    env = dict(os.environ)
    # The child must import this same atlas, installed or not.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "atlas.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)   # a terminal's Ctrl-C is the parent's to handle
    try:
        out, err = proc.communicate(request, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return Measurement("timeout", f"no answer within {timeout_s:g} s; killed",
                           wall_s=time.monotonic() - start)
    except BaseException:
        proc.kill()                      # never leave a stray child behind (e.g. KeyboardInterrupt)
        proc.wait()
        raise
    wall = time.monotonic() - start
    if proc.returncode < 0:
        return Measurement("crashed", _signal_name(-proc.returncode), wall_s=wall)
    try:
        reply = pickle.loads(out)
    except Exception:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        return Measurement("crashed", f"exit status {proc.returncode} without an answer"
                           + (": " + " | ".join(tail) if tail else ""), wall_s=wall)
    if reply["status"] != "ok":
        return Measurement(reply["status"], reply["detail"], wall_s=wall)
    times = reply["times_ns"]
    return Measurement("ok", "", times, float(statistics.median(times)) if times else None,
                       reply["result"], wall)


# ---------------------------------------------------------------- the child

def _fresh(args: list) -> list:
    """Copies of the array arguments, so every call sees the same inputs."""
    import numpy as np
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _run(request: dict) -> dict:
    from . import ir, runtime
    lib = runtime.load(request["dir"], check_cpu=request["check_cpu"])
    fn = lib[request["function"]]
    args = request["args"]
    args = list(args() if callable(args) else args)
    written = [i for i, p in enumerate(fn.sig.params)
               if isinstance(p.ty, ir.Array) and p.ty.mutable and i < len(args)]
    first = _fresh(args)
    ret = fn(*first)                     # the warm-up call; its outputs are the result
    result = {"return": ret, "arrays": {i: first[i] for i in written}}
    times = []
    for _ in range(request["repeats"]):
        call = _fresh(args)
        t0 = time.perf_counter_ns()
        fn(*call)
        times.append(time.perf_counter_ns() - t0)
    return {"status": "ok", "times_ns": times, "result": result}


def _child() -> int:
    try:                                 # a crashing candidate should not leave core files around
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    reply_fd = os.dup(1)
    os.dup2(2, 1)                        # the candidate's prints go to stderr, not into the reply
    request = pickle.loads(sys.stdin.buffer.read())
    try:
        reply = _run(request)
    except Exception as e:
        reply = {"status": "error", "detail": f"{type(e).__name__}: {e}"}
    try:
        data = pickle.dumps(reply)
    except Exception as e:               # e.g. an unpicklable return value
        data = pickle.dumps({"status": "error", "detail": f"cannot send the result back: {e}"})
    with os.fdopen(reply_fd, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(_child())
