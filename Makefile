# Two commands matter: `make run` (the workflow end to end, locally) and `make test` (the full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

RUN_PATH := PYTHONPATH=layers/shared:local

.PHONY: help venv test lint typecheck format run serve emulator reliability bench clean build

help:
	@echo "make run       run the workflow end to end on the local stack (ARGS='--help' for options)"
	@echo "make serve     a long-running local stack (moto server + SP-API emulator) for the AWS CLI"
	@echo "make emulator  only the SP-API emulator, in the foreground"
	@echo "make reliability  the bad-input and fault matrices through the real state machine, as tables"
	@echo "make bench     hash, copy, cold start and end-to-end benchmarks as tables (ARGS='--help')"
	@echo "make test      lint, type-check and run the full test suite"
	@echo "make lint      ruff (lint + format check), cfn-lint, statelint"
	@echo "make format    apply ruff's formatting and safe fixes"
	@echo "make build     sam build (needs the AWS SAM CLI)"

$(STAMP): requirements-dev.txt layers/shared/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/statelint --ignore URI statemachine/send_message.asl.json

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(STAMP)
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto

run: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m local_stack run $(ARGS)

serve: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m local_stack serve $(ARGS)

emulator: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m spapi_emulator $(ARGS)

reliability: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m local_stack reliability $(ARGS)

bench: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m bench $(ARGS)

build:
	sam build

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .local
