"""One lock for making boto3 clients.

boto3's default session is not thread-safe while it makes a client (two threads at once can fail with
"dictionary changed size during iteration"). Lambda runs one invocation per container at a time, but the
local stack runs the handlers on threads, five attachments at once: every adapter makes its client under
this lock. The lock is held only while a client is made, once per container and service.
"""

from __future__ import annotations

import threading

CLIENT_LOCK = threading.Lock()
