"""Golden error messages: every malformed intent in tests/malformed/ against
the exact text `atlas check` prints for it.

Each case is a pair:

    tests/malformed/NNN_short_name.ax        a small intent with one mistake
    tests/malformed/NNN_short_name.expected  the complete error text: the
                                             `file:line:col: error: message`
                                             line, the source line with a
                                             caret, and the note if any

Paths in the expected text are relative to the repository root, so the
checker is always run on `tests/malformed/NNN_short_name.ax`.

After a deliberate change to a message, rewrite the expected files with

    python tests/test_errors.py --regen

then read every changed message (`git diff tests/malformed`) as a user would
before keeping it.  The tests themselves never rewrite anything.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "tests" / "malformed"
CASES = sorted(CASES_DIR.glob("*.ax"))


def rel(path: Path) -> str:
    """The path as the expected files spell it: relative to the repo root."""
    return path.relative_to(ROOT).as_posix()


def render(case: Path) -> str:
    """Parse and check one case in-process; the error text, or a line saying
    that no error was reported."""
    from atlas.front.check import check
    from atlas.front.diagnostics import AtlasError
    from atlas.pipeline import read_sources

    cwd = os.getcwd()
    os.chdir(ROOT)  # messages name the file as it was given
    try:
        check(*read_sources([rel(case)]))
    except AtlasError as err:
        return str(err)
    finally:
        os.chdir(cwd)
    return "(no error reported)"


def expected_text(case: Path) -> str:
    return case.with_suffix(".expected").read_text().rstrip("\n")


def regen() -> None:
    sys.path.insert(0, str(ROOT))
    for case in CASES:
        case.with_suffix(".expected").write_text(render(case) + "\n")
        print(f"wrote {rel(case.with_suffix('.expected'))}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        regen()
    else:
        sys.exit("usage: python tests/test_errors.py --regen   (rewrites tests/malformed/*.expected)")
else:
    import pytest

    @pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
    def test_message(case):
        assert render(case) == expected_text(case)

    def test_enough_cases():
        assert len(CASES) >= 40

    def test_every_case_has_expected_text():
        missing = [rel(c) for c in CASES if not c.with_suffix(".expected").exists()]
        orphans = [rel(e) for e in CASES_DIR.glob("*.expected") if not e.with_suffix(".ax").exists()]
        assert not missing and not orphans

    HEAD = re.compile(r"^tests/malformed/.*:\d+:\d+: error: ", re.M)
    CARET = re.compile(r"^ +\| +\^+$", re.M)

    @pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
    def test_expected_shape(case):
        text = expected_text(case)
        head = HEAD.search(text)
        assert head, "no `file:line:col: error:` line"
        assert text.startswith(f"{rel(case)}:"), "the error must point into the case itself"
        assert CARET.search(text), "no caret line"
        assert "Traceback" not in text

    CLI_CASES = [
        "001_missing_semicolon",
        "011_unterminated_block_comment",
        "023_mismatched_operands",
        "051_unknown_hw_fact",
    ]

    @pytest.mark.parametrize("stem", CLI_CASES)
    def test_cli(stem):
        case = CASES_DIR / f"{stem}.ax"
        assert case.exists()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        proc = subprocess.run(
            [sys.executable, "-m", "atlas.tools.cli", "check", rel(case)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1
        assert "Traceback" not in proc.stdout + proc.stderr
        assert proc.stdout == ""
        assert proc.stderr.rstrip("\n") == expected_text(case)
