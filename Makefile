# The two commands of the README. Both install what they need on a fresh machine first.
#   make run    — run talentbot (with Slack tokens), or the local sandbox workspace without them
#   make test   — lint and the whole test suite (SQLite and PostgreSQL)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: run test lint bench install chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[sandbox,test]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/talentbot serve

lint: $(STAMP)
	$(BIN)/ruff check .

# The browser tests drive Debian's chromium through Playwright (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& apt-get install -y --no-install-recommends chromium >/dev/null; } \
		|| { (apt-get update -qq && apt-get install -y --no-install-recommends chromium >/dev/null) 2>/dev/null; } \
		|| echo "chromium is not installed (apt-get install chromium); the browser tests will be skipped, or fail under CI=true"

test: lint chromium
	$(BIN)/python -m pytest

bench: $(STAMP)
	bench/run
