"""The facts of Amazon's official SP-API models that the emulator and the tests need, kept in the repository.

Amazon's Swagger models (``messaging.json``, ``uploads_2020-11-01.json``; amzn/selling-partner-api-models,
Apache-2.0) and the samples' recorded answers (amzn/selling-partner-api-samples, MIT-0) are not part of the
repository: a fresh clone has only ``model_facts.json`` beside this module, which this command derives from them::

    make model-facts                     # = python -m spapi_emulator.model_facts derive ../shared/spapi-models
    python -m spapi_emulator.model_facts check [<models dir>]

The facts are the models with their documentation left out: per API, its ``consumes`` / ``produces``, every
path, method and operation with its parameters and responses (status, schema, header names), and the
definitions those ``$ref``; descriptions, examples and sandbox cases are dropped, except the usage plan an
operation's description states, kept as ``x-usage-plan`` (``null`` where the model states none). Each source's
``info.version`` and sha256 are written in the file, and ``factsSha256`` digests the facts themselves, so a
check without the models can tell that the file is what this command wrote (tests/emulator/test_model_facts.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

FACTS_PATH = Path(__file__).with_name("model_facts.json")
DIGEST_KEY = "factsSha256"
COMMAND = "make model-facts (python -m spapi_emulator.model_facts derive <models dir>)"

MODELS_REPOSITORY = "https://github.com/amzn/selling-partner-api-models"
SAMPLES_REPOSITORY = "https://github.com/amzn/selling-partner-api-samples"
# api -> (file in the models folder, path in Amazon's repository)
MODELS: Mapping[str, tuple[str, str]] = {
    "messaging": ("messaging.json", "models/messaging-api-model/messaging.json"),
    "uploads": ("uploads_2020-11-01.json", "models/uploads-api-model/uploads_2020-11-01.json"),
}
# Recorded answers the tests read as Amazon's own (the sendInvoice one is not used).
SAMPLES = (
    "fixtures/messaging-getMessagingActionsForOrder.json",
    "fixtures/messaging-createUploadDestination.json",
)
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})
# Documentation only: no validation or routing depends on them.
ANNOTATIONS = frozenset({"description", "summary", "example", "examples", "tags", "x-amzn-api-sandbox"})
# Objects whose keys are names (a property may be called "description"), not keywords.
NAME_MAPS = frozenset({"paths", "definitions", "properties", "headers", "responses"})
USAGE_PLAN = re.compile(
    r"\*\*Usage Plan:\*\*\s*"
    r"\|\s*Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*"
    r"\|[\s|-]+\|\s*"
    r"\|\s*(?P<rate>[0-9.]+)\s*\|\s*(?P<burst>[0-9]+)\s*\|"
)
ABOUT = (
    "Facts from Amazon's official Selling Partner API models (" + MODELS_REPOSITORY + ", Apache License 2.0) "
    "and recorded answers from " + SAMPLES_REPOSITORY + " (MIT-0), as listed in sources with the version and "
    "sha256 of each file read. The models' documentation is left out; the schemas are Amazon's. Written by "
    + COMMAND
    + ": do not edit by hand."
)


class ModelFactsError(ValueError):
    """The models folder lacks a file, or a file is not what the derivation expects."""


def usage_plan(description: str) -> dict[str, float | int] | None:
    """The ``{"rate", "burst"}`` of the "Usage Plan" table in an operation's description; None without one."""
    found = USAGE_PLAN.search(description)
    return {"rate": float(found["rate"]), "burst": int(found["burst"])} if found else None


def strip_annotations(value: Any, *, names: bool = False) -> Any:
    """``value`` without its documentation keywords, at every depth; the keys of name maps are kept."""
    if isinstance(value, list):
        return [strip_annotations(item) for item in value]
    if not isinstance(value, dict):
        return value
    if names:
        return {name: strip_annotations(item) for name, item in value.items()}
    return {
        key: strip_annotations(item, names=key in NAME_MAPS) for key, item in value.items() if key not in ANNOTATIONS
    }


def _operation_facts(operation: Mapping[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = strip_annotations(dict(operation))
    facts["x-usage-plan"] = usage_plan(str(operation.get("description", "")))
    return facts


def _api_facts(model: Mapping[str, Any]) -> dict[str, Any]:
    paths = {
        path: {
            method: _operation_facts(operation) if method in HTTP_METHODS else strip_annotations(operation)
            for method, operation in item.items()
        }
        for path, item in model["paths"].items()
    }
    return {
        "consumes": model.get("consumes", []),
        "produces": model.get("produces", []),
        "paths": paths,
        "definitions": strip_annotations(model.get("definitions", {}), names=True),
    }


def _read(path: Path) -> tuple[bytes, Any]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ModelFactsError(f"cannot read {path}: {error.strerror}") from error
    try:
        return raw, json.loads(raw)
    except ValueError as error:
        raise ModelFactsError(f"{path} is not JSON: {error}") from error


def derive(models_dir: Path) -> dict[str, Any]:
    """The facts document of the models (and samples) in ``models_dir``, its digest included."""
    sources: dict[str, Any] = {}
    apis: dict[str, Any] = {}
    for api, (name, upstream) in MODELS.items():
        raw, model = _read(models_dir / name)
        if not isinstance(model, dict) or "paths" not in model or "info" not in model:
            raise ModelFactsError(f"{models_dir / name} is not a Swagger model (no info or paths)")
        sources[name] = {
            "from": f"{MODELS_REPOSITORY}/blob/main/{upstream}",
            "licence": str(model["info"].get("license", {}).get("name", "Apache License 2.0")),
            "title": model["info"].get("title"),
            "version": model["info"].get("version"),
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
        apis[api] = {"source": name, **_api_facts(model)}
    samples: dict[str, Any] = {}
    for name in SAMPLES:
        raw, body = _read(models_dir / name)
        sources[name] = {"from": SAMPLES_REPOSITORY, "licence": "MIT-0", "sha256": hashlib.sha256(raw).hexdigest()}
        samples[name] = body
    facts = {"about": ABOUT, "sources": sources, "apis": apis, "samples": samples}
    return {**facts, DIGEST_KEY: digest(facts)}


def digest(facts: Mapping[str, Any]) -> str:
    """sha256 of the facts (every key but the digest), as canonical JSON: key order and layout do not count."""
    content = {key: value for key, value in facts.items() if key != DIGEST_KEY}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render(facts: Mapping[str, Any]) -> str:
    """The file's text: one layout, so a re-derivation compares equal byte for byte."""
    return json.dumps(facts, indent=1, ensure_ascii=False) + "\n"


def problems(text: str) -> list[str]:
    """Why ``text`` is not a facts file as :func:`derive` and :func:`render` write it (empty: it is)."""
    try:
        facts = json.loads(text)
    except ValueError as error:
        return [f"not JSON: {error}"]
    if not isinstance(facts, dict) or not isinstance(facts.get(DIGEST_KEY), str):
        return [f"no {DIGEST_KEY}"]
    found: list[str] = []
    if facts[DIGEST_KEY] != digest(facts):
        found.append(f"{DIGEST_KEY} is not the digest of the facts: they were edited after `{COMMAND}` wrote them")
    if set(facts) != {"about", "sources", "apis", "samples", DIGEST_KEY}:
        found.append(f"unexpected top-level keys: {sorted(facts)}")
    if text != render(facts):
        found.append(f"the layout is not what `{COMMAND}` writes")
    return found


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load(path: Path = FACTS_PATH) -> dict[str, Any]:
    """The facts file (a fresh copy each call: callers may change it)."""
    facts: dict[str, Any] = json.loads(_text(path))
    return facts


def api_model(api: str) -> dict[str, Any]:
    """``messaging`` or ``uploads``: ``consumes``, ``produces``, ``paths`` and ``definitions`` of its model."""
    model: dict[str, Any] = load()["apis"][api]
    return model


def sample(name: str) -> Any:
    """A recorded answer, by its name in the samples' folder (``fixtures/messaging-….json``)."""
    return load()["samples"][name]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spapi_emulator.model_facts",
        description="The facts of Amazon's SP-API models that the emulator and the tests read: derive or check them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    derive_command = commands.add_parser("derive", help="write the facts file from the models")
    derive_command.add_argument("models_dir", type=Path, help="the folder of messaging.json, uploads_….json, fixtures/")
    derive_command.add_argument("--output", type=Path, default=FACTS_PATH, help="default: %(default)s")
    check_command = commands.add_parser("check", help="the file is as written; with models, it is theirs")
    check_command.add_argument("models_dir", type=Path, nargs="?", help="compare with these models too")
    check_command.add_argument("--file", type=Path, default=FACTS_PATH, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.command == "derive":
            text = render(derive(args.models_dir))
            args.output.write_text(text, encoding="utf-8")
            print(f"wrote {args.output} ({len(text.encode('utf-8'))} bytes) from {args.models_dir}")
            return 0
        text = args.file.read_text(encoding="utf-8")
        found = problems(text)
        if args.models_dir is not None and text != render(derive(args.models_dir)):
            found.append(f"it is not what {args.models_dir} gives: run `{COMMAND}`")
    except (ModelFactsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for problem in found:
        print(f"{args.file}: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
