# Two commands matter: `make run` (the workflow end to end, locally) and `make test` (the full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

RUN_PATH := PYTHONPATH=layers/shared:local

# checkov pins boto3 and other packages that clash with requirements-dev.txt: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Offline: .checkov.yaml sets --skip-download; the PyPI update check is off; no API key can come from the
# environment or ~/.bridgecrew/credentials (HOME points into the venv), so nothing is uploaded either.
CHECKOV := env -u BC_API_KEY -u PRISMA_API_URL HOME=$(CURDIR)/$(CHECKOV_VENV) CKV_SKIP_PACKAGE_UPDATE_CHECK=true \
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

.PHONY: help venv test lint checkov typecheck format run serve emulator reliability bench clean build

help:
	@echo "make run       run the workflow end to end on the local stack (ARGS='--help' for options)"
	@echo "make serve     a long-running local stack (moto server + SP-API emulator) for the AWS CLI"
	@echo "make emulator  only the SP-API emulator, in the foreground"
	@echo "make reliability  the bad-input and fault matrices through the real state machine, as tables"
	@echo "make bench     hash, copy, cold start and end-to-end benchmarks as tables (ARGS='--help')"
	@echo "make test      lint, type-check and run the full test suite"
	@echo "make lint      ruff (lint + format check), cfn-lint, statelint, checkov"
	@echo "make checkov   checkov's security scan of template.yaml (docs/checkov.md)"
	@echo "make format    apply ruff's formatting and safe fixes"
	@echo "make build     sam build (needs the AWS SAM CLI, and python3.13 for the layer: README, Deploy with SAM)"

$(STAMP): requirements-dev.txt layers/shared/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

lint: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/statelint --ignore URI statemachine/send_message.asl.json
	$(CHECKOV) --quiet --compact

checkov: $(CHECKOV_STAMP)
	$(CHECKOV) --compact

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# tests/static/test_checkov.py runs checkov from $(CHECKOV_VENV).
test: $(STAMP) $(CHECKOV_STAMP)
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
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .local
