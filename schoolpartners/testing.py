"""A pytest plugin (`-p schoolpartners.testing` in pyproject's addopts), loaded before Django's settings.

The settings refuse to start without SECRET_KEY when DEBUG is off; the test suite runs with DEBUG off, so it gets
a random key for this run (never the development key, never a committed one). Subprocess tests that check the
refusal remove SECRET_KEY from their child's environment.
"""

from __future__ import annotations

import os
import secrets
import tempfile

os.environ.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(40))
# large downloads built by the tests go to a folder of this run, not the repository's .cache/
os.environ.setdefault("EXPORT_CACHE_DIR", tempfile.mkdtemp(prefix="sp-test-exports-"))
