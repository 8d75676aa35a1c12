"""Install Atlas (editable, with the test tools and Ray for the cluster market) and what it uses at run
time, without the notebook packages that egglog's package requires and
Atlas never loads: anywidget, and through it IPython, jedi and the widgets.

pip cannot leave out one requirement of a dependency, so the install goes
in steps: Atlas without its dependencies (which installs its metadata),
egglog at Atlas's pin without its dependencies, then every requirement of
egglog's but those left out, and every requirement of Atlas's but egglog,
each with its own dependencies.  `pip check` then names anywidget as
missing: that is the point.

    python3 scripts/install.py          # what `make install` runs
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, requires

LEFT_OUT = {"anywidget"}  # egglog's notebook display, never imported by egglog.bindings
PROJECT = "atlas-compiler"


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)


def name(spec: str) -> str:
    return re.split(r"[<>=!~ \[(;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def required(dist: str, extras: tuple[str, ...] = ()) -> list[str]:
    """`dist`'s requirements: those without a marker, and those of `extras`."""
    out = []
    for req in requires(dist) or []:
        spec, _, marker = req.partition(";")
        if marker.strip():
            extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
            if extra is None or extra.group(1) not in extras:
                continue
        out.append(spec.strip())
    return out


def main() -> int:
    pip("--no-deps", "-e", ".[test,cluster]")
    atlas = required(PROJECT, ("test", "cluster"))
    egglog = [r for r in atlas if name(r) == "egglog"]
    pip("--no-deps", *egglog)
    try:
        egglog_needs = [r for r in required("egglog") if name(r) not in LEFT_OUT]
    except PackageNotFoundError:
        return 1
    pip(*egglog_needs, *(r for r in atlas if name(r) != "egglog"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
