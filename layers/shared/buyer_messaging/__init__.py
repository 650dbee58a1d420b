"""Send messages and files to Amazon buyers through the SP-API Messaging and Uploads APIs.

The package is layered: each handler (``functions/*/app.py``) calls its own step in :mod:`buyer_messaging.workflow`;
steps combine the logic modules (catalog, validation, trigger); only the adapters (``spapi``, ``auth``,
``storage``, ``executions``, ``uploads``) talk to the network through requests or boto3.
"""

__version__ = "0.1.0"
