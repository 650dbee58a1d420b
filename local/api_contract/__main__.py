"""python -m api_contract [--check]: write (or check) functions/api/openapi.json."""

from __future__ import annotations

import argparse
import sys

from api_contract import OPENAPI_FILE, ROOT, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_contract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is not the fresh generation")
    arguments = parser.parse_args(argv)
    fresh = render()
    where = OPENAPI_FILE.relative_to(ROOT)
    if arguments.check:
        current = OPENAPI_FILE.read_text(encoding="utf-8") if OPENAPI_FILE.is_file() else ""
        if current != fresh:
            print(f"{where} is not the generation of api_contract: run `make openapi`.", file=sys.stderr)
            return 1
        return 0
    OPENAPI_FILE.write_text(fresh, encoding="utf-8")
    print(f"wrote {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
