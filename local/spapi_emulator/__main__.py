"""``python -m spapi_emulator``: run the emulator in the foreground until Ctrl+C (or SIGTERM)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from spapi_emulator.seed import DEFAULT_SEED_PATH, SeedError, load_seed
from spapi_emulator.server import DEFAULT_HOST, Emulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m spapi_emulator",
        description="A local SP-API (Messaging, Uploads, Login with Amazon, upload URLs) for the workflow.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=8777, help="port (default 8777; 0 picks a free one)")
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED_PATH, help="seed file (default: %(default)s)")
    parser.add_argument("--speedup", type=float, default=1.0, help="emulated seconds per real second (default 1)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    try:
        seed = load_seed(args.seed)
        emulator = Emulator(seed, host=args.host, port=args.port, speedup=args.speedup, log_requests=args.verbose)
        base_url = emulator.start()
    except SeedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(f"error: cannot start the emulator on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(f"SP-API emulator listening on {base_url} (seed {seed.source}, speedup {args.speedup:g})")
    print("Point the workflow at it:")
    for name, value in emulator.environment().items():
        print(f"  export {name}={value}")
    print(f"LWA credentials it accepts (the credentials secret): {json.dumps(seed.credentials.as_secret())}")
    print(f"Orders: {', '.join(order.amazon_order_id for order in seed.orders)}")
    print(f"What buyers received: {base_url}/_emulator/messages   Stop with Ctrl+C.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
