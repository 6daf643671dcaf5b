# Every target sets up what it needs: a fresh clone needs only Python 3.12+ and make.
# Without DATABASE_URL the project runs its own embedded PostgreSQL under .data/.

VENV := .venv
BIN := $(VENV)/bin
# Development installs runtime + dev tools + the embedded PostgreSQL; production (the
# Dockerfile) installs requirements/production.lock. `make lock` writes both.
LOCK := requirements/development.lock
STAMP := $(VENV)/.installed-$(shell cksum $(LOCK) | cut -d' ' -f1)
# runserver prints http://$(HOST):$(PORT); WebAuthn (passkeys) refuses 127.0.0.1, so localhost.
HOST ?= localhost
PORT ?= 8000

# Development mode unless the caller says otherwise (production needs SECRET_KEY etc.).
export DEBUG ?= true

.PHONY: run test lint fmt messages migrate install lock clean bench

run: $(STAMP) ## Set up, apply migrations and serve HTTP + WebSocket on http://localhost:8000
	@# One supervisor (config/management/commands/dev.py): Ctrl-C or SIGTERM stops all.
	$(BIN)/python manage.py dev $(HOST):$(PORT)

test: $(STAMP) ## Set up and run the whole test suite
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy, the import contracts, the migrations and translations checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Type-checking loads settings but needs no database: don't start the embedded one.
	DATABASE_URL=$${DATABASE_URL:-postgres://unused@localhost/unused} $(BIN)/mypy .
	$(BIN)/python scripts/import-contracts
	$(BIN)/python manage.py makemigrations --check --dry-run --no-input
	@# Every marked string translated in every catalogue, and the .mo files current (docs/i18n.md).
	$(BIN)/python scripts/check-messages

messages: $(STAMP) ## Update the catalogues under locale/ (makemessages) and compile them
	$(BIN)/python scripts/check-messages --write

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --no-input

install: $(STAMP)

$(STAMP): $(LOCK)
	@rm -f $(VENV)/.installed-*
	@# find-python explains what is missing and fails; stop there, before `-m venv`.
	@test -x $(BIN)/python || { python=$$(scripts/find-python) && "$$python" -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@touch $@

bench: $(STAMP) ## Every benchmark package under bench/ (see docs/performance.md)
	$(BIN)/python -m bench

lock: $(STAMP) ## Re-resolve both locks from pyproject.toml (LOCK_ARGS=--upgrade to upgrade all)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --extra embedded --universal \
		--generate-hashes $(LOCK_ARGS) -o requirements/development.lock
	@# Production pins what development tested: the same versions, without the extras.
	$(BIN)/uv pip compile --quiet pyproject.toml --universal --generate-hashes \
		--constraint requirements/development.lock -o requirements/production.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
