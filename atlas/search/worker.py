"""Measure a compiled candidate in a separate process, under a time limit.

    m = measure("out/saxpy", "saxpy", [4, np.float32(2), x, y], repeats=7, timeout_s=10)
    m.status        # Measured.OK, CRASHED, TIMEOUT or ERROR
    m.median_ns     # median of the timed samples, ns per call (None unless ok)
    m.result        # {"return": value, "arrays": {position: array}} from the first call
    m.method        # "native" (a C timing loop) or "python" (one ctypes call per sample)

A candidate is machine code the search has not run before: it may crash
(SIGSEGV, abort) or never return.  Running it in a child process means such
a candidate costs only itself; the parent kills a child that overruns.

The child is `python -m atlas.search.worker`: the request is pickled to its stdin,
the reply pickled back on a private copy of its stdout (the real stdout is
pointed at stderr, so anything the candidate prints cannot corrupt the
reply).  A subprocess rather than multiprocessing so that callers need no
`if __name__ == "__main__"` guard and nothing of the parent is inherited.

Timing happens in C where a compiler is at hand: a Python call through
ctypes costs about a microsecond, which would swamp a kernel of a few
hundred nanoseconds.  The child builds (once per C signature, cached under
the Atlas cache folder's timers/) a tiny loop that calls the function
through a pointer `reps` times between two clock readings, keeping the last
return value.  Each sample runs on fresh copies of the arrays and lasts at
least `min_sample_ns`; the figure is ns per call.  Within one sample the
calls share those copies, so a function that writes its inputs sees its own
output on the next call (as in `atlas bench`).  Without a C compiler (and no
cached loop) the child falls back to timing one ctypes call per sample.
"""

from __future__ import annotations

import ctypes
import enum
import hashlib
import os
import pickle
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, Union

Args = Union[Sequence[Any], Callable[[], Sequence[Any]]]


class TimerNotice(UserWarning):
    """A cached timing loop was damaged, moved aside and rebuilt."""


class Measured(enum.Enum):
    """What came of running one candidate (the search adds the last two)."""

    OK = "ok"
    CRASHED = "crashed"  # killed by a signal, or died without an answer
    TIMEOUT = "timeout"  # killed at the time limit
    ERROR = "error"  # the child raised (e.g. the call was refused)
    WRONG = "wrong"  # ran, and its outputs differ from the default variant's
    INAPPLICABLE = "inapplicable"  # the genome names a shape that does not apply


@dataclass
class Measurement:
    status: Measured
    detail: str = ""  # signal name, exception text, or why it timed out
    times_ns: list = field(default_factory=list)
    median_ns: float | None = None
    result: dict | None = None  # {"return": value, "arrays": {index: ndarray}}
    wall_s: float = 0.0  # the child's life, start-up included
    method: str = ""  # "native": C timing loop; "python": a ctypes call per sample
    reps: int = 1  # calls per timed sample
    note: str = ""  # why native timing was not used, when it was not

    @property
    def ok(self) -> bool:
        return self.status is Measured.OK


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def measure(
    artefact_dir,
    function: str,
    args: Args,
    *,
    repeats: int = 7,
    timeout_s: float = 10.0,
    check_cpu: bool = True,
    native: bool = True,
    min_sample_ns: float = 200_000,
    cpu: int | None = None,
) -> Measurement:
    """Run `function` of the artefact in `artefact_dir` in a child process:
    one warm-up call on fresh copies of the array arguments (its outputs are
    `result`), then `repeats` timed samples, each on fresh copies.  `args` is
    the list of inputs (numpy arrays and scalars), or a picklable callable
    that returns it in the child.

    native: time in a C loop, each sample repeating the call until it lasts
    at least `min_sample_ns` (falls back to Python timing, one call per
    sample, when no C compiler is found); False: always Python timing.
    cpu: the one core the child runs on (where the OS allows pinning)."""
    request = pickle.dumps(
        {
            "dir": str(Path(artefact_dir).resolve()),
            "function": function,
            "args": args,
            "repeats": int(repeats),
            "check_cpu": check_cpu,
            "native": bool(native),
            "min_sample_ns": float(min_sample_ns),
        }
    )
    env = _child_env()
    start = time.monotonic()
    proc = _start_child(env)
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        try:  # before it has imported anything: the timing runs there
            os.sched_setaffinity(proc.pid, {cpu})
        except OSError:
            pass  # gone already, or the core was taken away: time where it runs
    try:
        out, err = proc.communicate(request, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return Measurement(
            Measured.TIMEOUT, f"no answer within {timeout_s:g} s; killed", wall_s=time.monotonic() - start
        )
    except BaseException:
        proc.kill()  # never leave a stray child behind (e.g. KeyboardInterrupt)
        proc.wait()
        raise
    wall = time.monotonic() - start
    return _measurement(proc, out, err, wall)


def _child_env() -> dict[str, str]:
    """This process's environment, with PYTHONPATH led by the folder that
    holds atlas: the child must import this same atlas, installed or not."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _start_child(env: dict[str, str]) -> subprocess.Popen:
    """The child `python -m atlas.search.worker`, its three streams piped,
    in a session of its own: a terminal's Ctrl-C is the parent's to handle."""
    return subprocess.Popen(
        [sys.executable, "-m", "atlas.search.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def _measurement(proc: subprocess.Popen, out: bytes, err: bytes, wall: float) -> Measurement:
    """The Measurement of a child that has exited, from its exit status and
    its reply (`out`; `err` for the tail of a crash's output)."""
    if proc.returncode < 0:
        return Measurement(Measured.CRASHED, _signal_name(-proc.returncode), wall_s=wall)
    try:
        reply = pickle.loads(out)
    except Exception:
        tail = err.decode(errors="replace").strip().splitlines()[-5:]
        return Measurement(
            Measured.CRASHED,
            f"exit status {proc.returncode} without an answer" + (": " + " | ".join(tail) if tail else ""),
            wall_s=wall,
        )
    if reply.get("notice"):  # the child repaired the cache: the user hears of it here
        warnings.warn(TimerNotice(reply["notice"]))
    if reply["status"] != "ok":  # the child's own reply: "error" and why
        return Measurement(Measured(reply["status"]), reply["detail"], wall_s=wall)
    times = reply["times_ns"]
    return Measurement(
        Measured.OK,
        "",
        times,
        float(statistics.median(times)) if times else None,
        reply["result"],
        wall,
        method=reply.get("method", "python"),
        reps=reply.get("reps", 1),
        note=reply.get("note", ""),
    )


# ---------------------------------------------------------------- the C timing loop

TIMER_FLAGS = ("-O2", "-fPIC", "-shared")
MAX_REPS = 1 << 26


def timer_source(sig) -> str:
    """C source of `double atlas_time(fn, args..., reps, last)` for the
    signature `sig` (an ir.Function): calls fn(args...) reps times and
    returns the elapsed ns; `last` (if not NULL) receives the last return
    value.  The pointer is opaque to the C compiler, so no call can be
    hoisted or dropped."""
    from ..meaning import ir

    types = ["void *" if isinstance(p.ty, ir.Array) else ir.C_TYPE[p.ty.name] for p in sig.params]
    ret = ir.C_TYPE[sig.ret.name] if sig.ret is not None else None
    args = ", ".join(f"a{i}" for i in range(len(types)))
    decls = "".join(f", {t} a{i}" for i, t in enumerate(types))
    call = f"r = f({args});" if ret else f"f({args});"
    return "\n".join(
        [
            "/* atlas.search.worker timing loop, v1 */",
            "#include <stdint.h>",
            "#include <string.h>",
            "#include <time.h>",
            "",
            f"typedef {ret or 'void'} (*fn_t)({', '.join(types) or 'void'});",
            "",
            f"double atlas_time(void *fp{decls}, long reps, void *last) {{",
            "    fn_t f = (fn_t)fp;",
            f"    {ret} r = 0;" if ret else "    (void)last;",
            "    struct timespec t0, t1;",
            "    clock_gettime(CLOCK_MONOTONIC, &t0);",
            f"    for (long i = 0; i < reps; i++) {call}",
            "    clock_gettime(CLOCK_MONOTONIC, &t1);",
            *(["    if (last) memcpy(last, &r, sizeof r);"] if ret else []),
            "    return (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);",
            "}",
            "",
        ]
    )


def find_cc() -> str | None:
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _loads(path: Path) -> str | None:
    """Why the timing loop at `path` cannot be used, or None."""
    try:
        ctypes.CDLL(str(path)).atlas_time
    except (OSError, AttributeError) as exc:
        return str(exc).replace(f"{path}: ", "")
    return None


def timer_library(sig) -> tuple[str | None, str]:
    """The compiled timing loop for `sig`: (path of the .so, notice) or
    (None, why not).  Built once per signature into <cache>/timers/<hash>.so,
    written atomically, so concurrent workers share it safely.  A cached
    loop that does not load (a damaged file) is moved aside and rebuilt; the
    notice then says so, else it is empty."""
    from ..logic.rules import cache_dir

    source = timer_source(sig)
    digest = hashlib.sha256((source + "\0" + " ".join(TIMER_FLAGS)).encode()).hexdigest()[:32]
    folder = cache_dir() / "timers"
    path = folder / f"{digest}.so"
    notice = ""
    if path.exists():
        why = _loads(path)
        if why is None:
            return str(path), ""
        aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
        try:
            os.replace(path, aside)
        except OSError:
            pass  # another worker moved it first
        notice = f"the cached timing loop {path} is damaged ({why}); moved aside to {aside}, and rebuilt"
    cc = find_cc()
    if cc is None:
        return None, "no C compiler (cc, gcc, clang) on PATH: timed from Python"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="atlas-timer-") as tmp:
            src = Path(tmp) / "timer.c"
            src.write_text(source)
            fd, partial = tempfile.mkstemp(prefix=f".{digest}.", suffix=".so.tmp", dir=folder)
            os.close(fd)
            try:
                done = subprocess.run(
                    [cc, *TIMER_FLAGS, "-o", partial, str(src)], capture_output=True, text=True, timeout=60
                )
                if done.returncode != 0:
                    return None, f"{cc} failed on the timing loop: {done.stderr.strip()[:300]}"
                os.chmod(partial, 0o755)
                os.replace(partial, path)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"cannot build the timing loop: {exc}"
    return str(path), notice


class NativeTimer:
    """The C loop for one function, called on checked arguments."""

    def __init__(self, so_path: str, fn):
        from ..meaning import ir
        from ..machine.runtime import CTYPES

        self.fn = fn
        self._t = ctypes.CDLL(so_path).atlas_time
        self._t.argtypes = (
            [ctypes.c_void_p]
            + [ctypes.c_void_p if isinstance(p.ty, ir.Array) else CTYPES[p.ty.name] for p in fn.sig.params]
            + [ctypes.c_long, ctypes.c_void_p]
        )
        self._t.restype = ctypes.c_double

    def sample(self, args: list, reps: int) -> float:
        """ns for `reps` calls on fresh copies of args (copied before the clock starts)."""
        call = _fresh(args)
        raw = self.fn.c_args(*call)  # the runtime's checks; `call` keeps the arrays alive
        return self._t(self.fn.address, *raw, reps, None)

    def reps_for(self, args: list, min_sample_ns: float) -> int:
        """Calls per sample so that a sample lasts at least min_sample_ns;
        these samples also warm the loop up (caches, branch predictors, clock)."""
        reps = 1
        ns = self.sample(args, reps)  # a slow function is not called again just to calibrate
        while ns < min_sample_ns and reps < MAX_REPS:
            # aim a quarter past the target, at least doubling, at most x1000 a step
            want = int(reps * min_sample_ns * 1.25 / max(ns, 1.0)) + 1
            reps = min(MAX_REPS, max(2 * reps, min(want, 1000 * reps)))
            ns = self.sample(args, reps)
        return reps


# ---------------------------------------------------------------- the child


def _fresh(args: list) -> list:
    """Copies of the array arguments, so every call sees the same inputs."""
    import numpy as np

    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _run(request: dict) -> dict:
    from ..meaning import ir
    from ..machine import runtime

    lib = runtime.load(request["dir"], check_cpu=request["check_cpu"])
    fn = lib[request["function"]]
    args = request["args"]
    args = list(args() if callable(args) else args)
    written = [i for i, p in enumerate(fn.sig.params) if isinstance(p.ty, ir.Array) and p.ty.mutable and i < len(args)]
    first = _fresh(args)
    ret = fn(*first)  # the warm-up call; its outputs are the result
    result = {"return": ret, "arrays": {i: first[i] for i in written}}
    note = "Python timing asked for"
    if request.get("native", True):
        so, note = timer_library(fn.sig)
        if so is not None:
            timer = NativeTimer(so, fn)
            reps = timer.reps_for(args, request.get("min_sample_ns", 200_000))
            times = [timer.sample(args, reps) / reps for _ in range(request["repeats"])]
            return {
                "status": "ok",
                "times_ns": times,
                "result": result,
                "method": "native",
                "reps": reps,
                "notice": note,
            }
    times = []
    for _ in range(request["repeats"]):
        call = _fresh(args)
        t0 = time.perf_counter_ns()
        fn(*call)
        times.append(time.perf_counter_ns() - t0)
    return {"status": "ok", "times_ns": times, "result": result, "method": "python", "reps": 1, "note": note}


def _child() -> int:
    try:  # a crashing candidate should not leave core files around
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # the candidate's prints go to stderr, not into the reply
    request = pickle.loads(sys.stdin.buffer.read())
    try:
        reply = _run(request)
    except Exception as e:
        reply = {"status": "error", "detail": f"{type(e).__name__}: {e}"}
    try:
        data = pickle.dumps(reply)
    except Exception as e:  # e.g. an unpicklable return value
        data = pickle.dumps({"status": "error", "detail": f"cannot send the result back: {e}"})
    with os.fdopen(reply_fd, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(_child())
