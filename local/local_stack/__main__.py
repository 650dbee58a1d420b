"""``python -m local_stack run`` (the demo behind `make run`), ``serve``, or ``reliability`` (the bad-input and
fault matrices)."""

from __future__ import annotations

import sys


def main() -> int:
    command, arguments = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("run", [])
    if command == "run":
        from local_stack import demo

        return demo.main(arguments)
    if command == "serve":
        from local_stack import serve

        return serve.main(arguments)
    if command == "reliability":
        from local_stack.reliability import cli

        return cli.main(arguments)
    print("usage: python -m local_stack [run [options] | serve [options] | reliability [options]]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
