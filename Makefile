# Every target sets up what it needs: a fresh clone needs only Python 3.12+ and make.
# Without DATABASE_URL the project runs its own embedded PostgreSQL under .data/.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.lock | cut -d' ' -f1)
# runserver prints http://$(HOST):$(PORT); WebAuthn (passkeys) refuses 127.0.0.1, so localhost.
HOST ?= localhost
PORT ?= 8000

# Development mode unless the caller says otherwise (production needs SECRET_KEY etc.).
export DEBUG ?= true

.PHONY: run test lint fmt migrate install lock clean bench

run: $(STAMP) ## Set up, apply migrations and serve HTTP + WebSocket on http://localhost:8000
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP) ## Set up and run the whole test suite
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy, the import contracts and the migrations check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Type-checking loads settings but needs no database: don't start the embedded one.
	DATABASE_URL=$${DATABASE_URL:-postgres://unused@localhost/unused} $(BIN)/mypy .
	$(BIN)/python scripts/import-contracts
	$(BIN)/python manage.py makemigrations --check --dry-run --no-input

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --no-input

install: $(STAMP)

$(STAMP): requirements.lock
	@rm -f $(VENV)/.installed-*
	@test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@touch $@

bench: $(STAMP) ## Every benchmark package under bench/ (see docs/performance.md)
	$(BIN)/python -m bench

lock: $(STAMP) ## Re-resolve requirements.lock from pyproject.toml (LOCK_ARGS=--upgrade to upgrade all)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --generate-hashes $(LOCK_ARGS) -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
