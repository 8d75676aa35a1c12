# The two commands of the README: `make demo` and `make test`.
PY ?= python3

.PHONY: install demo test test-fast bench bench-family bench-search fuzz clean

install: .installed
.installed: pyproject.toml examples/atlas-c-backend/pyproject.toml $(wildcard examples/atlas-c-backend/atlas_c_backend/*.py)
	@echo "installing atlas and its dependencies (scripts/install.py: pip install -e '.[test,cluster]' without egglog's notebook packages)"
	@# quiet when it works; should the lighter install fail, the plain one, every message shown
	@$(PY) scripts/install.py >/dev/null 2>&1 || $(PY) -m pip install -e '.[test,cluster]'
	@# the example plugin, installed as a user would install their own package;
	@# --no-deps: it depends on atlas-compiler, which is the editable install
	@# above and is not on PyPI, so pip must not try to fetch it from there
	@echo "installing the example plugin (pip install ./examples/atlas-c-backend)"
	@$(PY) -m pip install -q --no-deps ./examples/atlas-c-backend >/dev/null 2>&1 || $(PY) -m pip install --no-deps ./examples/atlas-c-backend
	@touch .installed

demo: install
	bash scripts/demo.sh

# The lint, format and type gates first (pyproject.toml [tool.ruff], [tool.mypy];
# `ruff format .` makes the code as the format gate wants it),
# then the suite, one worker per core up to four (pytest-xdist; each worker
# may hold a gigabyte; tests of one xdist_group, such as those sharing a Ray
# cluster, run in one worker, in their order).
test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadgroup

# The tests that take under half a second each (tests/slow.txt lists the
# others): a check while working, not a substitute for `make test`.
test-fast: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) -m atlas.tools.cli bench

# The kernel families: unseen kernels of the benchmark's families
# (intents/family/, bench/family.c), timed as `make bench` times the ten.
bench-family: install
	$(PY) -m atlas.tools.cli bench --family

# The search beside random sampling of the same number of measurements,
# on the ten kernels and the families (`atlas bench-search`).
bench-search: install
	$(PY) -m atlas.tools.cli bench-search

# A fuzzing campaign: generated programs compiled every way and compared with
# the interpreter for FUZZ_SECONDS, then mutated intent files through
# `atlas check` and `atlas compile`; findings are kept under out/fuzz/.
FUZZ_SECONDS ?= 600
FUZZ_SEED ?= 0
FUZZ_MUTANTS ?= 2000
fuzz: install
	$(PY) -m atlas.tools.fuzz --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED) --out out/fuzz
	$(PY) -m atlas.tools.fuzz.mutate --count $(FUZZ_MUTANTS) --seed $(FUZZ_SEED) --keep out/fuzz/mutants
	$(PY) -m atlas.tools.fuzz.mutate --count $$(( $(FUZZ_MUTANTS) / 10 )) --seed $(FUZZ_SEED) --compile --keep out/fuzz/mutants-compiled

clean:
	rm -rf out .installed
