"""Settings for mypy's Django plugin (pyproject.toml `[tool.django-stubs]`): the real settings, loaded with a
placeholder SECRET_KEY so type checking never needs a secret. Never used to serve anything."""

import os

os.environ.setdefault("SECRET_KEY", "typecheck-only-not-a-secret")

from schoolpartners.settings import *  # noqa: E402, F403
