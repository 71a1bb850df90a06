"""The grading seed: fixed for a notebook's code, unknowable without the course secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_ENV = "GRADER_SECRET"


def secret_file() -> Path:
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "grader" / "secret"


def course_secret() -> bytes:
    """The course secret: ``$GRADER_SECRET``, else a random one kept in the user's config folder.

    A course sets ``GRADER_SECRET`` on the machines that grade for marks; without it each machine
    makes its own, so inputs still cannot be predicted and stay the same on that machine.
    """
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV].encode("utf-8")
    path = secret_file()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, then linked: two graders starting at once agree on one secret.
    draft = path.with_name(f".secret.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_bytes().strip()


def grading_seed(digest: bytes, secret: bytes) -> int:
    return int.from_bytes(hmac.new(secret, digest, hashlib.sha256).digest()[:4], "big") >> 1
