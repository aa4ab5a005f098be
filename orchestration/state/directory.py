"""A state store that is a folder of JSON files: the default, embedded store.

Layout under the root folder::

    runs/<run id>/<encoded stage>.json     one artifact envelope per stage
    values/<encoded key>.json              one JSON value per key

Stage names and keys may hold any character (``review/vision#2``); they are encoded into
file names reversibly: letters, digits, ``-``, ``_`` and ``.`` stay as they are, every other
character becomes ``%XX`` per UTF-8 byte (a leading ``.`` too, so no name is hidden). Run
ids are checked instead of encoded, so a run's folder keeps a readable name and can never
point outside ``runs/``. Every write is atomic; every read is validated, and a damaged file
is a :class:`agents.errors.StateStoreError` naming it.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pydantic import ValidationError

from agents.base import format_validation_error
from agents.errors import ForgeflowError, StateStoreError
from orchestration.runtime.artifact import Envelope, write_text_atomic
from orchestration.state.base import StateStore

_PLAIN = frozenset(string.ascii_letters + string.digits + "-_.")
_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_SUFFIX = ".json"
#: Most file systems cap a file name at 255 bytes.
_MAX_FILE_NAME = 255


def encode_name(name: str) -> str:
    """Encode a stage name or key as a file-name stem (reversible, see :func:`decode_name`)."""
    out: list[str] = []
    for i, ch in enumerate(name):
        if ch in _PLAIN and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def decode_name(stem: str) -> str | None:
    """The name :func:`encode_name` turned into ``stem``, or None if it is not one of ours."""
    try:
        name = unquote(stem, errors="strict")
    except UnicodeDecodeError:
        return None
    return name if name and encode_name(name) == stem else None


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is safe as a folder name, else raise StateStoreError."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise StateStoreError(
            f"invalid run id {run_id!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return run_id


class DirectoryStore(StateStore):
    """Stage artifacts and values as JSON files under ``root`` (created on first write)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise StateStoreError(f"state folder {self.root} is a file, expected a folder")

    @property
    def location(self) -> str:
        """The root folder."""
        return str(self.root)

    # -- paths -------------------------------------------------------------------------

    def _file(self, folder: Path, name: str, what: str) -> Path:
        if not isinstance(name, str) or not name:
            raise StateStoreError(f"state store {self.root}: empty {what}")
        file_name = encode_name(name) + _SUFFIX
        if len(file_name.encode()) > _MAX_FILE_NAME:
            raise StateStoreError(
                f"state store {self.root}: {what} {name[:40]!r}… is too long for a file name"
            )
        return folder / file_name

    def _run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / check_run_id(run_id)

    def stage_path(self, run_id: str, stage: str) -> Path:
        """The file that holds ``stage`` of ``run_id``."""
        return self._file(self._run_dir(run_id), stage, "stage name")

    def value_path(self, key: str) -> Path:
        """The file that holds the value under ``key``."""
        return self._file(self.root / "values", key, "key")

    # -- reading and writing -----------------------------------------------------------

    def _read_text(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise StateStoreError(f"{path}: corrupt state file: not UTF-8 text") from None
        except OSError as exc:
            raise StateStoreError(f"{path}: cannot read state: {exc.strerror or exc}") from None

    def _write_text(self, path: Path, text: str) -> None:
        try:
            write_text_atomic(path, text)
        except ForgeflowError as exc:
            raise StateStoreError(exc.one_line()) from None
        except OSError as exc:
            raise StateStoreError(f"{path}: cannot write state: {exc.strerror or exc}") from None

    def _read_envelope(self, path: Path) -> Envelope | None:
        text = self._read_text(path)
        if text is None:
            return None
        try:
            return Envelope.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first.get("type") == "json_invalid":
                reason = f"not valid JSON ({first.get('msg', 'invalid')})"
            else:
                reason = f"not an artifact envelope: {format_validation_error(exc)}"
            raise StateStoreError(f"{path}: corrupt state file: {reason}") from None

    def get_stage(self, run_id: str, stage: str) -> Envelope | None:
        """The artifact stored for ``stage`` of ``run_id``, or None."""
        return self._read_envelope(self.stage_path(run_id, stage))

    def put_stage(self, run_id: str, stage: str, envelope: Envelope) -> None:
        """Store (or replace) the artifact of ``stage`` of ``run_id`` atomically."""
        self._write_text(self.stage_path(run_id, stage), envelope.model_dump_json(indent=2) + "\n")

    def list_stages(self, run_id: str) -> list[tuple[str, Envelope]]:
        """All stored (stage, artifact) pairs of ``run_id``, ordered by stage name.

        Files that are not ours (temporary files, an editor's backups) are ignored.
        """
        folder = self._run_dir(run_id)
        try:
            files = [p for p in folder.iterdir() if p.name.endswith(_SUFFIX)]
        except FileNotFoundError:
            return []
        except NotADirectoryError:
            raise StateStoreError(f"{folder}: is a file, expected a run folder") from None
        except OSError as exc:
            raise StateStoreError(f"{folder}: cannot list: {exc.strerror or exc}") from None
        found: list[tuple[str, Envelope]] = []
        for path in files:
            stage = decode_name(path.name[: -len(_SUFFIX)])
            if stage is None:
                continue
            envelope = self._read_envelope(path)
            if envelope is not None:  # removed since the listing
                found.append((stage, envelope))
        found.sort(key=lambda pair: pair[0])
        return found

    def get_value(self, key: str) -> Any | None:
        """The JSON value stored under ``key``, or None."""
        path = self.value_path(key)
        text = self._read_text(path)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateStoreError(
                f"{path}: corrupt state file: not valid JSON: {exc.msg} "
                f"at line {exc.lineno} column {exc.colno}"
            ) from None

    def put_value(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value`` under ``key`` atomically."""
        path = self.value_path(key)
        self._write_text(path, dump_value(key, value) + "\n")


def dump_value(key: str, value: Any) -> str:
    """``value`` as strict JSON text; a value JSON cannot hold is a StateStoreError."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StateStoreError(f"value for key {key!r} is not JSON-serialisable: {exc}") from None
