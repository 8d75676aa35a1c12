# The two commands of the README: `make demo` and `make test`.
PY ?= python3

.PHONY: install demo test bench clean

install: .installed
.installed: pyproject.toml
	@echo "installing atlas and its dependencies (pip install -e '.[test]')"
	@# quiet when it works; on failure run again with every message shown
	@$(PY) -m pip install -q -e '.[test]' >/dev/null 2>&1 || $(PY) -m pip install -e '.[test]'
	@touch .installed

demo: install
	bash scripts/demo.sh

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m atlas.cli bench

clean:
	rm -rf out .installed
