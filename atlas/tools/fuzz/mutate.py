"""The mutation campaign: the shipped intents, damaged at random, through
`atlas check` (and `atlas compile --no-search`).  Every mutant must end in an
accepted program or a clear error -- `file:line:col: error: ...` with a
caret, or one line naming what is wrong -- never a traceback or a hang.

    python -m atlas.tools.fuzz.mutate --count 2000 --seed 1
    python -m atlas.tools.fuzz.mutate --count 300 --seed 2 --compile

Mutations: byte flips, token deletion, duplication and swaps, lines spliced
in from another intent, deep nesting and long operator chains (around the
nesting limit, syntax.MAX_DEPTH), chains of assignments whose value doubles
in size with each line, huge literals, bytes that are not UTF-8, and
function names the linker or the runtime reserve.

The command runs in a forked worker process, which serves one mutant after
another (the checker takes milliseconds; starting Python per mutant would
take most of the time).  A mutant that overruns its time limit is a hang:
the worker is killed and a fresh one started.  The counts are printed, and
each failing mutant is kept with its output; the exit status is 1 if any
mutant ended in a traceback or a hang.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import random
import re
import shutil
import sys
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUTCOMES = ("accepted", "located error", "clear error", "traceback", "hang")
FAILURES = ("traceback", "hang")
LOCATED = re.compile(r"^[^\n]+:\d+:\d+: error: ")


# ---------------------------------------------------------------- the mutations

_TOKEN = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*|0x[0-9a-fA-F_]+|[0-9][0-9_.]*[a-z0-9]*|\S")
_RESERVED = (b"_init", b"_fini", b"memset", b"memcpy", b"atlas_time", b"__start", b"_Exit")


def _tokens(data: bytes) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(data)]


def byte_flip(data: bytes, others, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if b:
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)


def token_delete(data: bytes, others, rng: random.Random) -> bytes:
    toks = _tokens(data)
    if not toks:
        return data
    s, e = rng.choice(toks)
    return data[:s] + data[e:]


def token_duplicate(data: bytes, others, rng: random.Random) -> bytes:
    toks = _tokens(data)
    if not toks:
        return data
    s, e = rng.choice(toks)
    return data[:e] + b" " + data[s:e] + data[e:]


def token_swap(data: bytes, others, rng: random.Random) -> bytes:
    toks = _tokens(data)
    if len(toks) < 2:
        return data
    i = rng.randrange(len(toks) - 1)
    j = min(len(toks) - 1, i + rng.randint(1, 6))
    (s1, e1), (s2, e2) = toks[i], toks[j]
    return data[:s1] + data[s2:e2] + data[e1:s2] + data[s1:e1] + data[e2:]


def splice(data: bytes, others, rng: random.Random) -> bytes:
    mine, theirs = data.split(b"\n"), rng.choice(others).split(b"\n")
    at, n = rng.randrange(len(mine) + 1), rng.randint(1, 8)
    start = rng.randrange(len(theirs))
    cut = rng.randint(0, 3)  # lines of ours the splice replaces
    return b"\n".join(mine[:at] + theirs[start : start + n] + mine[at + cut :])


def _depth(rng: random.Random) -> int:
    """Mostly near the nesting limit, on either side of it."""
    from ...front.syntax import MAX_DEPTH

    return rng.choice(
        (rng.randint(1, 300), rng.randint(MAX_DEPTH - 20, MAX_DEPTH + 20), rng.randint(MAX_DEPTH, 3 * MAX_DEPTH))
    )


def _function_body_start(data: bytes, rng: random.Random) -> int | None:
    """Just after the `{` that opens a function's body, or None."""
    starts = [m.end() for m in re.finditer(rb"\bfn\b[^{;]*\{", data)]
    return rng.choice(starts) if starts else None


def deep_nesting(data: bytes, others, rng: random.Random) -> bytes:
    at = _function_body_start(data, rng)
    if at is None:
        return data
    n = _depth(rng)
    kind = rng.randrange(3)
    if kind == 0:  # parenthesised
        stmt = b"let deep_ = " + b"(" * n + b"1" + b")" * n + b";"
    elif kind == 1:  # unary signs
        stmt = b"let deep_ = " + b"-" * n + b"1;"
    else:  # nested blocks
        stmt = b"if true { " * n + b"let deep_ = 1;" + b" }" * n
    return data[:at] + b"\n" + stmt + b"\n" + data[at:]


def long_chain(data: bytes, others, rng: random.Random) -> bytes:
    at = _function_body_start(data, rng)
    if at is None:
        return data
    op = rng.choice((b" + ", b" * ", b" & ", b" ^ ", b" << ", b" == ", b" && "))
    terms = [b"1"] * _depth(rng)
    return data[:at] + b"\nlet chain_ = " + op.join(terms) + b";\n" + data[at:]


def shared_chain(data: bytes, others, rng: random.Random) -> bytes:
    """`x = x * x + x;` repeated: linear text whose value, written out as a
    tree, doubles with every line (stages must share, not copy, subterms)."""
    at = _function_body_start(data, rng)
    if at is None:
        return data
    steps = rng.choice((rng.randint(2, 20), rng.randint(40, 80)))
    return data[:at] + b"\nlet s_: u64 = 3;\n" + b"s_ = s_ * s_ + s_;\n" * steps + data[at:]


def huge_literal(data: bytes, others, rng: random.Random) -> bytes:
    nums = [m.span() for m in re.finditer(rb"\b[0-9][0-9_]*\b", data)]
    big = rng.choice(
        (
            b"9" * rng.randint(20, 6000),
            b"0x" + b"f" * rng.randint(17, 3000),
            b"1" + b"0" * rng.randint(300, 320),
            b"1e" + b"9" * rng.randint(3, 400),
            b"0b" + b"1" * rng.randint(65, 2000),
        )
    )
    if not nums:
        return data + b"\n" + big
    s, e = rng.choice(nums)
    return data[:s] + big + data[e:]


def non_utf8(data: bytes, others, rng: random.Random) -> bytes:
    bad = rng.choice((b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xed\xa0\x80", b"\x00"))
    at = rng.randrange(len(data) + 1)
    return data[:at] + bad + data[at:]


def reserved_name(data: bytes, others, rng: random.Random) -> bytes:
    names = [m.span(1) for m in re.finditer(rb"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", data)]
    if not names:
        return data
    s, e = rng.choice(names)
    return data[:s] + rng.choice(_RESERVED) + data[e:]


MUTATIONS = {
    f.__name__: f
    for f in (
        byte_flip,
        token_delete,
        token_duplicate,
        token_swap,
        splice,
        deep_nesting,
        long_chain,
        shared_chain,
        huge_literal,
        non_utf8,
        reserved_name,
    )
}


def seeds(root: Path = ROOT) -> dict[str, bytes]:
    """The shipped intents, by path relative to the repository."""
    found = sorted((root / "intents").rglob("*.ax"))
    if not found:
        raise SystemExit(f"no intents under {root / 'intents'}: run from a checkout of Atlas")
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in found}


@dataclass
class Mutant:
    index: int
    origin: str
    mutations: list[str]
    data: bytes


def mutants(count: int, seed: int, root: Path = ROOT):
    """`count` mutants; mutant i depends on (seed, i) only."""
    files = seeds(root)
    names = sorted(files)
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        origin = rng.choice(names)
        data = files[origin]
        applied = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            name = rng.choice(sorted(MUTATIONS))
            data = MUTATIONS[name](data, [files[n] for n in names], rng)
            applied.append(name)
        yield Mutant(i, origin, applied, data)


# ---------------------------------------------------------------- running one


def run_cli(args: list[str]) -> tuple[int, str]:
    """`atlas ARGS` in this process: (exit status, what it printed).  An
    exception that escapes the command is printed as the traceback a user
    would see."""
    from ..cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main.main(args, prog_name="atlas", standalone_mode=False)
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # noqa: BLE001 -- exactly what we look for
            import click

            if isinstance(exc, click.ClickException):  # a usage error, reported by click
                exc.show()
                status = exc.exit_code
            else:
                traceback.print_exc()
                status = 1
    return status, out.getvalue()


def classify(status: int, output: str) -> str:
    if "Traceback (most recent call last)" in output:
        return "traceback"
    if status == 0:
        return "accepted"
    message = output.strip()
    if LOCATED.match(message):
        return "located error"
    if message and len(message.splitlines()[0]) < 2000:
        return "clear error"
    return "traceback"  # a failure that says nothing is as bad as a traceback


def _serve(conn, compile_args) -> None:
    """The worker: one mutant file after another, until the pipe closes."""
    while True:
        try:
            path, out = conn.recv()
        except EOFError:
            return
        status, output = run_cli(["check", path])
        if status == 0 and compile_args is not None:
            status, output = run_cli(["compile", path, "-o", out, "--no-search", *compile_args])
            shutil.rmtree(out, ignore_errors=True)
        conn.send((status, output))


class Worker:
    """A forked process that runs mutants, replaced when one hangs."""

    def __init__(self, compile_args):
        self.compile_args = compile_args
        self.proc = None
        self.conn = None

    def _start(self):
        ctx = multiprocessing.get_context("fork")
        self.conn, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(theirs, self.compile_args), daemon=True)
        self.proc.start()
        theirs.close()

    def run(self, path: str, out: str, timeout_s: float) -> tuple[str, str]:
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send((path, out))
        if not self.conn.poll(timeout_s):
            self.stop()
            return "hang", f"no answer within {timeout_s:g} s"
        try:
            status, output = self.conn.recv()
        except EOFError:  # the worker died: a crash of the interpreter itself
            code = self.proc.exitcode if self.proc is not None else None
            self.stop()
            return "traceback", f"the worker died (exit status {code})"
        return classify(status, output), output

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            self.proc = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- the campaign


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    by_mutation: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # (mutant, outcome, output)

    @property
    def ok(self) -> bool:
        return not any(self.counts[o] for o in FAILURES)

    def render(self) -> str:
        total = sum(self.counts.values())
        lines = [f"{total} mutants: " + ", ".join(f"{self.counts[o]} {o}" for o in OUTCOMES)]
        for name in sorted(self.by_mutation):
            c = self.by_mutation[name]
            lines.append(f"  {name:16} " + ", ".join(f"{c[o]} {o}" for o in OUTCOMES if c[o]))
        return "\n".join(lines)


def campaign(
    count: int,
    seed: int,
    *,
    compile: bool = False,
    timeout_s: float = 20.0,
    keep: Path | None = None,
    root: Path = ROOT,
    log=None,
) -> Report:
    """Run `count` mutants; failing ones are written to `keep` (with their
    output beside them) when it is given."""
    report = Report()
    compile_args = None
    with tempfile.TemporaryDirectory(prefix="atlas-mutate-") as tmp:
        if compile:
            from ...machine import probe

            hw = Path(tmp) / "probe.json"
            probe.write_probe(probe.probe(), hw)  # probed once, not per mutant
            compile_args = ["--hw", str(hw)]
        worker = Worker(compile_args)
        try:
            for m in mutants(count, seed, root):
                path = Path(tmp) / f"m{m.index:05d}.ax"
                path.write_bytes(m.data)
                outcome, output = worker.run(str(path), str(Path(tmp) / f"out{m.index}"), timeout_s)
                report.counts[outcome] += 1
                for name in set(m.mutations):
                    report.by_mutation.setdefault(name, Counter())[outcome] += 1
                if outcome in FAILURES:
                    report.failures.append((m, outcome, output))
                    if keep is not None:
                        keep.mkdir(parents=True, exist_ok=True)
                        stem = keep / f"seed{seed}-{m.index:05d}"
                        stem.with_suffix(".ax").write_bytes(m.data)
                        stem.with_suffix(".txt").write_text(
                            json.dumps({"origin": m.origin, "mutations": m.mutations, "outcome": outcome})
                            + "\n"
                            + output
                        )
                if log and (m.index + 1) % 100 == 0:
                    log(f"{m.index + 1} mutants: " + ", ".join(f"{report.counts[o]} {o}" for o in OUTCOMES))
        finally:
            worker.stop()
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m atlas.tools.fuzz.mutate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1000, help="mutants to run (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="the campaign's seed (default 0)")
    ap.add_argument(
        "--compile", action="store_true", help="also `atlas compile --no-search` every mutant the checker accepts"
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per mutant before it counts as a hang (default 20; 120 with --compile)",
    )
    ap.add_argument(
        "--keep",
        type=Path,
        default=Path("mutate-failures"),
        help="folder for failing mutants and their output (default mutate-failures/)",
    )
    args = ap.parse_args(argv)
    timeout = args.timeout or (120.0 if args.compile else 20.0)
    report = campaign(
        args.count,
        args.seed,
        compile=args.compile,
        timeout_s=timeout,
        keep=args.keep,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    print(report.render())
    for m, outcome, output in report.failures[:10]:
        tail = output.strip().splitlines()[-1:] or [""]
        print(f"{outcome}: mutant {m.index} of {m.origin} ({', '.join(m.mutations)}): {tail[0][:200]}")
    if report.failures:
        print(f"failing mutants kept in {args.keep}/")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
