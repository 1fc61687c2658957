"""The API tokens ``eohub auth login`` keeps, per hub URL, in a file only the user can read.

``EOHUB_HOME/credentials.json`` (mode 0600, written to a temporary file and renamed) maps a hub URL to
its token. ``EOHUB_TOKEN`` overrides the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from eohub.config import Settings
from eohub.errors import UsageError

FILE_NAME = "credentials.json"


def credentials_file(settings: Settings) -> Path:
    return settings.home / FILE_NAME


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is unreadable ({exc}); remove it and run eohub auth login again") from None
    return {str(k): str(v) for k, v in (data.get("tokens") or {}).items()} if isinstance(data, dict) else {}


def _write(path: Path, tokens: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"tokens": tokens}, out, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _key(url: str) -> str:
    return url.rstrip("/")


def token_for(settings: Settings) -> str | None:
    """The token to send to ``settings.url``: ``EOHUB_TOKEN``, else the stored one, else ``None``."""
    if settings.token:
        return settings.token
    if not settings.url:
        return None
    return _read(credentials_file(settings)).get(_key(settings.url))


def store_token(settings: Settings, url: str, token: str) -> Path:
    """Remember ``token`` for ``url``; return the file."""
    path = credentials_file(settings)
    tokens = _read(path)
    tokens[_key(url)] = token
    _write(path, tokens)
    return path


def forget_token(settings: Settings, url: str) -> bool:
    """Forget the token of ``url``; ``False`` when there was none."""
    path = credentials_file(settings)
    tokens = _read(path)
    if tokens.pop(_key(url), None) is None:
        return False
    _write(path, tokens)
    return True
