# Two commands: `make run` serves the app on the bundled demo data, `make test` runs the suite.
# `make run` installs only what the app needs (the core dependencies); `make test` adds the dev
# tools and every engine extra. Separate stamps: `make test` after `make run` adds what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
TEST_EXTRAS := dev,auth,sql,duckdb,sqlite,postgres,spark,mysql,clickhouse

.PHONY: run test lint bench demo browser services clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(TEST_EXTRAS)]'
	touch $(TEST_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/streamlit run serve.py --server.headless true --server.address 127.0.0.1 \
		--server.port $(PORT)

browser:
	@test -x /usr/bin/chromium || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "chromium missing: install Debian's chromium package"; fi; }

# The source engines' tests need PostgreSQL and MariaDB server binaries and Java (for Spark):
# Debian packages (the tests start throwaway servers themselves).
services:
	@command -v mariadbd >/dev/null || test -x /usr/sbin/mariadbd || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				mariadb-server; \
		else echo "mariadb missing: install Debian's mariadb-server package"; fi; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
		else echo "postgresql missing: install Debian's postgresql package"; fi; }
	@command -v java >/dev/null || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				default-jre-headless; \
		else echo "java missing: install Debian's default-jre-headless package"; fi; }

# ruff (style, complexity, docstrings), import-linter (the layers), mypy (types), vulture (dead
# code; reviewed false positives in vulture_whitelist.py), radon (no function rated D or worse:
# it prints nothing when clean), then the whole suite with the coverage floor of nsexp/
# (pyproject.toml [tool.coverage]).
test: $(TEST_STAMP) browser services
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/vulture --min-confidence 60 nsexp app.py pages vulture_whitelist.py
	@out="$$($(BIN)/radon cc -n D -s nsexp app.py pages)"; \
		if [ -n "$$out" ]; then echo "radon: functions rated D or worse (split them):"; \
		echo "$$out"; exit 1; fi
	$(BIN)/python -m pytest -q --cov --cov-report=term

bench: $(TEST_STAMP) browser services
	$(BIN)/python -m pytest -q -m slow
	$(BIN)/python -m bench.run

demo: $(RUN_STAMP)
	$(BIN)/python -m nsexp.demo data/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
