"""``make bench`` (``python -m bench``): every benchmark, one run, Markdown tables on stdout.

``--update-readme`` also writes them into bench/README.md between its results markers.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from pathlib import Path

from bench import cold_start, end_to_end, hash_and_copy
from bench.common import MiB, machine, running_stack, table

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--sizes", default="1,64,512", help="object sizes in MiB for hash and copy")
    parser.add_argument("--repeats", type=int, default=3, help="runs per hash/copy measurement (median)")
    parser.add_argument("--import-repeats", type=int, default=9, help="fresh processes per handler import")
    parser.add_argument("--invocations", type=int, default=3, help="cold first-invocation chains")
    parser.add_argument("--executions", type=int, default=6, help="end-to-end executions (first is cold)")
    parser.add_argument("--against", metavar="REV", help="also import the handlers of this git revision (before/after)")
    parser.add_argument("--update-readme", action="store_true", help="write the results into bench/README.md")
    args = parser.parse_args(argv)

    started = time.monotonic()
    host = machine()
    sections: list[str] = [
        "Machine: " + "; ".join(f"{key} {value}" for key, value in host.items()) + ".",
    ]

    def say(text: str) -> None:
        print(text, flush=True)

    say(sections[0])
    say("\nHash and copy through the local stack ...")
    sizes = [int(float(size) * MiB) for size in args.sizes.split(",")]
    with running_stack() as stack:
        transfers = hash_and_copy.measure(stack, sizes, args.repeats, log=say)
    hashing = hash_and_copy.hash_table(transfers)
    copying = hash_and_copy.copy_table(transfers)
    say("\n" + hashing + "\n\n" + copying)

    say("\nCold start ...")
    with cold_start.code_layouts(args.against) as layouts:
        variants = list(layouts)
        imports = cold_start.measure_imports(layouts, args.import_repeats)
        breakdown = cold_start.import_breakdown(layouts[cold_start.AS_DEPLOYED])
        with running_stack() as stack:
            invocations = cold_start.measure_invocations(stack, layouts[cold_start.AS_DEPLOYED], args.invocations)
    import_times = cold_start.import_table(imports, variants)
    where = cold_start.breakdown_table(breakdown)
    first_calls = cold_start.invocation_table(invocations)
    memory = cold_start.memory_table(invocations)
    say("\n" + import_times + "\n\n" + where + "\n\n" + first_calls + "\n\n" + memory)

    say("\nEnd to end ...")
    workflow = end_to_end.state_table(end_to_end.measure(MiB, args.executions))
    say("\n" + workflow)

    verdicts = table(
        ["target", "measured", ""], [*hash_and_copy.targets(transfers), *cold_start.targets(imports, variants)]
    )
    say("\n" + verdicts)
    say(f"\n({time.monotonic() - started:.0f} s)")

    if args.update_readme:
        results = "\n\n".join(
            [
                sections[0],
                "### Hash (Content-MD5)\n\n" + hashing,
                "### Copy to the presigned URL\n\n" + copying,
                "### Cold start: import of each handler module\n\n" + import_times,
                "Where the import time goes (as deployed; self time of the modules, by package):\n\n" + where,
                "### Cold start: first invocation through the local stack\n\n" + first_calls,
                "### Lambda memory: the CPU of a cold start at each size\n\n" + memory,
                "### End to end\n\n" + workflow,
                "### Targets\n\n" + verdicts,
            ]
        )
        text = README.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{README} has no {START} ... {END} section")
        README.write_text(pattern.sub(lambda _: f"{START}\n{results}\n{END}", text), encoding="utf-8")
        say(f"Results written to {README.relative_to(README.parent.parent)}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
