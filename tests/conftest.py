import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests import golden.py

# The search's archive of a test run is its own, never the user's.
os.environ["ATLAS_ARCHIVE"] = os.path.join(tempfile.mkdtemp(prefix="atlas-test-archive-"), "archive.sqlite3")
# So are its learned rules: none, unless a test writes some.
os.environ["ATLAS_LEARNED"] = os.path.join(tempfile.mkdtemp(prefix="atlas-test-learned-"), "learned-rules.yaml")
# So are its caches (proofs, closed forms, cost tables), empty at the start:
# a test passes or fails the same on a machine that never ran Atlas.  Set
# once, before the workers start, so that they share what they prove.
if "ATLAS_TEST_CACHE" not in os.environ:
    os.environ["ATLAS_TEST_CACHE"] = os.environ["ATLAS_CACHE_DIR"] = tempfile.mkdtemp(prefix="atlas-test-cache-")
# Several test workers search at once: none pins its timing to a core of its
# own (they would all take the same one); the one test of that runs alone.
os.environ["ATLAS_SEARCH_THREADS"] = "1"
# Extraction weighs terms by the static hints, whatever cost table this
# machine has measured (atlas/logic/costs.py): the tests assert the same
# choices everywhere; a test of the measured model passes its own table.
os.environ["ATLAS_COSTS"] = "static"


SLOW = {
    line.strip()
    for line in (Path(__file__).parent / "slow.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}


def pytest_collection_modifyitems(config, items):
    for item in items:  # the fast tier: `pytest -m "not slow"` (make test-fast)
        if item.nodeid.split("[")[0] in SLOW or item.nodeid.split("::")[0] in SLOW:
            item.add_marker(pytest.mark.slow)
    if shutil.which("cc") or shutil.which("gcc"):
        return
    skip = pytest.mark.skip(reason="needs a C compiler (cc) to link shared libraries")
    for item in items:
        if "cc" in item.keywords:
            item.add_marker(skip)
