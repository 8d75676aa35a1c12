"""Shrink a failing program to a minimal one that still fails the same way.

Delta debugging over the generator's layout (one statement per line, a
block's header ending in `{` and its end in `}`): drop chunks of lines,
whole blocks and functions, unwrap `if`/`for`/`while`/`when` bodies, then
replace parenthesised subexpressions by their operands or by small
literals.  Every candidate must still pass the checker (cheap, tried
first) and still fail the caller's predicate (a compile and a call).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...front.diagnostics import AtlasError
from . import gen

Predicate = Callable[[str], bool]


@dataclass
class Reduction:
    source: str
    tries: int  # candidates given to the predicate
    accepted: int  # of which still failed (each a step down)


def well_typed(source: str) -> bool:
    try:
        gen.check_source(source)
    except AtlasError:
        return False
    return True


def _block_end(lines: list[str], start: int) -> int:
    """The index of the line that closes the block opened on `start`."""
    depth = 0
    for k in range(start, len(lines)):
        depth += lines[k].count("{") - lines[k].count("}")
        if depth <= 0:
            return k
    return len(lines) - 1


def _line_candidates(lines: list[str]):
    """Smaller variants of `lines`, biggest cuts first."""
    n = len(lines)
    for k, line in enumerate(lines):  # whole blocks (functions first)
        if line.rstrip().endswith("{"):
            end = _block_end(lines, k)
            if line.strip().startswith("} else"):  # an else branch: drop it, keep the `}`
                yield lines[:k] + ["}"] + lines[end + 1 :]
            else:
                yield lines[:k] + lines[end + 1 :]
    chunk = max(1, n // 2)
    while chunk >= 1:  # runs of simple statements
        for start in range(0, n, chunk):
            cut = lines[start : start + chunk]
            if all(c.rstrip().endswith(";") for c in cut):
                yield lines[:start] + lines[start + chunk :]
        chunk //= 2
    for k, line in enumerate(lines):  # unwrap a block: keep its body
        s = line.strip()
        if s.endswith("{") and not s.startswith(("fn ", "}")):
            end = _block_end(lines, k)
            body = lines[k + 1 : end]
            if "} else {" in [b.strip() for b in body]:
                split = [b.strip() for b in body].index("} else {")
                yield lines[:k] + body[:split] + lines[end + 1 :]
                yield lines[:k] + body[split + 1 :] + lines[end + 1 :]
            else:
                yield lines[:k] + body + lines[end + 1 :]


_LITERALS = (
    "0u64",
    "1u64",
    "0i32",
    "1i32",
    "0u8",
    "0u16",
    "0u32",
    "0i8",
    "0i16",
    "0i64",
    "0.0f32",
    "0.0f64",
    "1.0f32",
    "1.0f64",
    "true",
    "false",
)


def _groups(line: str) -> list[tuple[int, int]]:
    """(start, end) of each parenthesised group, outermost first."""
    stack, out = [], []
    for k, ch in enumerate(line):
        if ch == "(":
            stack.append(k)
        elif ch == ")" and stack:
            out.append((stack.pop(), k + 1))
    return sorted(out, key=lambda g: g[0] - g[1])


_OPERAND = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[[^\[\]]*\]|[A-Za-z_][A-Za-z0-9_]*|[0-9][0-9a-z_.]*")


def _expr_candidates(lines: list[str]):
    for k, line in enumerate(lines):
        if line.strip().startswith("fn "):
            continue  # the signature stays: the failing call binds to it
        for start, end in _groups(line):
            inner = line[start + 1 : end - 1]
            subs = [inner[s:e] for s, e in _groups(inner)][:4] + _OPERAND.findall(inner)[:4]
            for rep in [*subs, *_LITERALS]:
                if rep != line[start:end]:
                    yield lines[:k] + [line[:start] + rep + line[end:]] + lines[k + 1 :]


def reduce(source: str, still_fails: Predicate, budget_s: float = 120.0, max_tries: int = 400) -> Reduction:
    """The smallest variant of `source` found that type-checks and still
    fails; greedy: the first smaller candidate that fails is taken, and the
    search starts again from it."""
    lines = source.rstrip("\n").split("\n")
    deadline = time.monotonic() + budget_s
    tries = accepted = 0
    seen: set[str] = set()
    for phase in (_line_candidates, _expr_candidates):
        progress = True
        while progress and time.monotonic() < deadline and tries < max_tries:
            progress = False
            for cand in phase(lines):
                text = "\n".join(cand) + "\n"
                if text in seen:
                    continue
                seen.add(text)
                if not well_typed(text):
                    continue
                tries += 1
                if still_fails(text):
                    lines, accepted, progress = cand, accepted + 1, True
                    break
                if time.monotonic() >= deadline or tries >= max_tries:
                    break
    return Reduction("\n".join(lines) + "\n", tries, accepted)


def write_finding(folder: Path, name: str, source: str, report: str) -> Path:
    """`name`.ax (the reduced intent) and `name`.txt (the call, expected and
    got, the flags) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ax").write_text(source)
    (folder / f"{name}.txt").write_text(report.rstrip("\n") + "\n")
    return folder / f"{name}.ax"
