"""A local SP-API for the Buyer Messaging Workflow: Messaging and Uploads APIs, Login with Amazon and
S3-like presigned upload URLs, faithful to Amazon's official models and never more lenient than Amazon.

Use it to try the workflow without credentials, and in tests::

    from spapi_emulator import Emulator

    with Emulator() as emulator:          # the default seed: local/seed/orders.json
        emulator.base_url                 # SPAPI_ENDPOINT
        emulator.token_url                # LWA_TOKEN_URL
        emulator.deliveries()             # what buyers received

or from a shell: ``python -m spapi_emulator --port 8777``.
"""

from spapi_emulator.seed import DEFAULT_SEED_PATH, Seed, SeedError, load_default_seed, load_seed
from spapi_emulator.server import Emulator

__all__ = ["DEFAULT_SEED_PATH", "Emulator", "Seed", "SeedError", "load_default_seed", "load_seed"]
