# The two commands of the README: `make demo` and `make test`.
PY ?= python3

.PHONY: install demo test bench clean

install: .installed
.installed: pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	@touch .installed

demo: install
	bash scripts/demo.sh

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) -m atlas.cli bench

clean:
	rm -rf out .installed
