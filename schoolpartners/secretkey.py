"""The secret key: SECRET_KEY from the environment, else one generated once into a local file (issue 18).

A fresh clone's `make run` and `.venv/bin/schoolpartners ...` need no environment: the first process that loads
the settings without SECRET_KEY writes a random key (`secrets.token_urlsafe(50)`, 67 characters) to
SECRET_KEY_FILE (default `.secret_key` at the repository root, git-ignored), readable by its owner only (mode
600); the server, its workers and every CLI command then read the same key. Two processes starting at once
cannot write two keys: the key is written to a private temporary file that is then hard-linked to the final
name, which fails when the file exists, so the loser reads the winner's key.

Production sets SECRET_KEY (the same value on every server) or points SECRET_KEY_FILE at a key file it
provisions (docs/deploy.md). No Django import: the settings module imports this.
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from pathlib import Path

MIN_LENGTH = 50  # Django's check --deploy (security.W009) wants at least 50 characters


class SecretKeyError(RuntimeError):
    """The key file exists but cannot be used (empty, too short, or readable by others)."""


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)  # mkstemp creates it with mode 600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(50) + "\n")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic; FileExistsError when another process won the race
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def read_or_create(path: Path) -> str:
    """The key stored in `path`, generating the file first when it does not exist."""
    if not path.exists():
        _generate(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(
            f"the secret key file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
        )
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_LENGTH:
        raise SecretKeyError(
            f"the secret key file {path} holds {len(key)} characters (at least {MIN_LENGTH}); delete it to "
            "have a new key generated, or write a longer one"
        )
    return key


def secret_key(environ: os._Environ[str] | dict[str, str], default_file: Path) -> tuple[str, Path | None]:
    """(the key, the file it came from or None when it came from SECRET_KEY)."""
    key = environ.get("SECRET_KEY", "").strip()
    if key:
        return key, None
    path = Path(environ.get("SECRET_KEY_FILE", "").strip() or default_file)
    return read_or_create(path), path
