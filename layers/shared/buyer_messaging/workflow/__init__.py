"""The workflow's steps: one module per Lambda function, each called by its function's handler.

A module bears its function's name, and so does the function in it that the handler calls:
``functions/hash_attachment/app.py`` calls :func:`buyer_messaging.workflow.hash_attachment.hash_attachment`, which
the ``HashAttachment`` state runs. One function keeps an older name: the ``ValidateRequest`` state runs
``ListActionsFunction`` (``functions/list_actions``), whose handler calls
:func:`buyer_messaging.workflow.validate_request.validate_request`. Renaming its logical id would replace the
deployed function, and executions in flight or redriven later still name the old one.

Each module imports what its step uses at its top and nothing of another step, so a function loads only its own
step's adapters (``tests/unit/test_cold_start_imports.py`` imports each one in a fresh interpreter). This face of
the package imports nothing, for the same reason.
"""
