"""The one place files live: uploaded photos, dispute evidence and generated reports.

Files are addressed by a random key (never a user-supplied name) and stored under
``UPLOAD_FOLDER``, outside the static tree, so they are only served through views that
check who is asking. Swap this module's backend to move files to shared storage when
running on several hosts.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, current_app

_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


def init_storage(app: Flask) -> None:
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)


def _root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]).resolve()


def _path(key: str) -> Path:
    if not key or ".." in key or key.startswith("/") or not set(key) <= _KEY_CHARS:
        raise ValueError(f"Invalid storage key {key!r}.")
    path = (_root() / key).resolve()
    if _root() not in path.parents:
        raise ValueError(f"Invalid storage key {key!r}.")
    return path


def new_key(prefix: str, suffix: str) -> str:
    """A fresh random key such as ``photos/3f…a9.jpg``."""
    return f"{prefix}/{secrets.token_hex(16)}{suffix}"


def save(key: str, data: bytes) -> str:
    path = _path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return key


def load(key: str) -> bytes:
    return _path(key).read_bytes()


def exists(key: str) -> bool:
    try:
        return _path(key).is_file()
    except ValueError:
        return False


def local_path(key: str) -> Path:
    """Filesystem path of a stored file (for send_file and WeasyPrint's fetcher)."""
    return _path(key)


def delete(key: str) -> None:
    path = _path(key)
    if path.exists():
        path.unlink()


def send(key: str | None, mimetype: str, *, download_name: str | None = None):
    """A response with a stored file, private to the browser that asked (callers check who
    may see it first); 404 when there is no such file."""
    from flask import abort, send_file

    if not key or not exists(key):
        abort(404)
    response = send_file(
        local_path(key), mimetype=mimetype, max_age=0,
        as_attachment=download_name is not None, download_name=download_name,
    )
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
