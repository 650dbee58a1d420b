# Two commands matter: `make run` (the workflow end to end, locally) and `make test` (the full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

RUN_PATH := PYTHONPATH=layers/shared:local
# What make needs from the system: installed with apt-get where this user may (root, passwordless sudo), else one
# line naming the command to run (local/ensure_debian_packages.sh WHO MISSING CHECK PACKAGE...).
ENSURE := sh local/ensure_debian_packages.sh
# Debian's python3 comes without ensurepip (package python3-venv): `python3 -m venv` would fail in several lines.
ENSURE_VENV := $(ENSURE) make "$(PYTHON) cannot create the project's virtual environment (no ensurepip)" \
	'$(PYTHON) -c "import ensurepip, venv"' python3-venv
# Amazon's official models and samples, outside the repository: `make model-facts` derives from them the facts
# the emulator and the tests read (local/spapi_emulator/model_facts.json).
SPAPI_MODELS ?= ../shared/spapi-models

# checkov pins boto3 and other packages that clash with requirements-dev.txt: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# Offline: .checkov.yaml sets --skip-download; the PyPI update check is off; no API key can come from the
# environment or ~/.bridgecrew/credentials (HOME points into the venv), so nothing is uploaded either.
CHECKOV := env -u BC_API_KEY -u PRISMA_API_URL HOME=$(CURDIR)/$(CHECKOV_VENV) CKV_SKIP_PACKAGE_UPDATE_CHECK=true \
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml

.PHONY: help venv chromium test lint checkov typecheck format run serve emulator reliability resend seller bench load load-campaign fuzz clean build lock model-facts asl openapi

help:
	@echo "make run       run the workflow end to end on the local stack (ARGS='--help' for options)"
	@echo "make serve     a long-running local stack (moto server + SP-API emulator) for the AWS CLI"
	@echo "make emulator  only the SP-API emulator, in the foreground"
	@echo "make reliability  the bad-input, campaign and fault matrices through the real state machines, as tables"
	@echo "make resend    re-send failed requests after an outage (ARGS=\"--since ... --error LwaUnavailable --dry-run\"; --stack NAME)"
	@echo "make seller    onboard, list, remove sellers; console users per seller (ARGS=\"add ID --refresh-token-file F | list | remove ID | invite [--seller ID] | grant EMAIL ID | revoke EMAIL ID\"; grant/revoke with --stack NAME)"
	@echo "make bench     hash, copy, cold start and end-to-end benchmarks as tables (ARGS='--help')"
	@echo "make load      N messages at once on the local stack against Amazon's quotas (ARGS='-n 1000', '--help')"
	@echo "make load-campaign  a campaign of N rows (default 1,000) and a console message in its middle (ARGS='--help')"
	@echo "make fuzz      Schemathesis against the HTTP API on the local stack, longer than the suite (EXAMPLES=$(EXAMPLES) SEED=$(SEED))"
	@echo "make test      lint, type-check and run the full test suite"
	@echo "make lint      ruff (lint + format check), cfn-lint, statelint, checkov"
	@echo "make checkov   checkov's security scan of template.yaml (docs/checkov.md)"
	@echo "make format    apply ruff's formatting and safe fixes"
	@echo "make asl       write statemachine/*.asl.json (send_message, campaign) from their sources, *.asl.yaml"
	@echo "make openapi   regenerate functions/api/openapi.json (GET /openapi.json) from local/api_contract"
	@echo "make model-facts  re-derive local/spapi_emulator/model_facts.json from Amazon's models (SPAPI_MODELS=$(SPAPI_MODELS))"
	@echo "make lock      re-resolve the layer's and the tests' dependencies, rewrite their constraints (network)"
	@echo "make build     sam build (needs the AWS SAM CLI, and python3.13 for the layer: README, Deploy with SAM)"

# constraints-dev.txt pins every distribution, transitive ones included, at the versions the last `make lock`
# resolved (within the layer's pins, layers/shared/constraints.txt) and the suite passed with: a fresh clone
# installs what was tested, not what was published this morning.
LOCK_DIR := .lock

$(STAMP): requirements-dev.txt layers/shared/requirements.txt constraints-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	@$(ENSURE_VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is required"'
	@$(ENSURE_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

# Resolves the layer's and the tests' requirements afresh (network, and python3.13 for the layer:
# RUNTIME_PYTHON=...) and rewrites their constraints; run `make test` on the new venv before committing them.
# (requirements-checkov.txt is a freeze already: see its header.)
lock:
	rm -rf $(LOCK_DIR)
	$(MAKE) --no-print-directory -f layers/shared/Makefile constraints
	$(PYTHON) -m venv $(LOCK_DIR)/dev
	$(LOCK_DIR)/dev/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_DIR)/dev/bin/python -m pip install --quiet -r requirements-dev.txt -c layers/shared/constraints.txt
	{ echo "# Generated by \`make lock\` from requirements-dev.txt within layers/shared/constraints.txt, with Python" \
		"$$($(LOCK_DIR)/dev/bin/python -c 'import sys; print(*sys.version_info[:2], sep=".")'). Do not edit by hand."; \
	  $(LOCK_DIR)/dev/bin/python -m pip freeze --disable-pip-version-check | LC_ALL=C sort -f; } > constraints-dev.txt
	rm -rf $(LOCK_DIR) $(VENV)

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

# The browser tests drive Debian's chromium: installed with apt-get when missing (as root or with passwordless
# sudo), else `make test` stops with the command to run. First, so a missing browser stops it before pip runs.
chromium:
	@$(ENSURE) "make test" "Chromium is missing for the browser tests (tests/browser)" "command -v chromium" \
		chromium fonts-dejavu-core

# tests/static/test_checkov.py runs checkov from $(CHECKOV_VENV).
test: chromium $(STAMP) $(CHECKOV_STAMP)
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

# Re-send failed requests after an outage (docs/resend.md): POST /resends on `make serve`'s API, or on a deployed
# stack's IAM API with ARGS="--stack NAME ..." (signed with your AWS credentials).
resend: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m ops.resend $(ARGS)

# Onboard, list and remove sellers (README, "Onboard a seller"): the onboarding routes of `make serve`'s API, or of
# a deployed stack's IAM API with --stack NAME (SigV4). The refresh token comes from a file or stdin, never argv.
seller: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m ops.seller $(ARGS)

bench: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m bench $(ARGS)

load: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m bench.load $(ARGS)

load-campaign: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m bench.load_campaign $(ARGS)

# tests/contract (Schemathesis against the HTTP API on the local stack, every phase and check), longer than in
# `make test` (15): EXAMPLES per operation and per stateful run, SEED for other inputs; ARGS go to pytest.
EXAMPLES ?= 120
SEED ?= 13
fuzz: $(STAMP)
	SCHEMATHESIS_EXAMPLES=$(EXAMPLES) SCHEMATHESIS_SEED=$(SEED) $(BIN)/python -m pytest -p no:xdist tests/contract $(ARGS)

model-facts: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m spapi_emulator.model_facts derive $(SPAPI_MODELS)

asl: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m asl_source

# functions/api/openapi.json, which GET /openapi.json serves: generated from local/api_contract (pydantic, a
# development dependency) and the package's constants; a unit test fails while the file is not the fresh one.
openapi: $(STAMP)
	@$(RUN_PATH) $(BIN)/python -m api_contract

build:
	sam build

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(LOCK_DIR) .aws-sam .pytest_cache .mypy_cache .ruff_cache .local
