"""Stand-in for actions/cache v4 (restore and save) over a local folder."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import time
from pathlib import Path


def output(name: str, value: str) -> None:
    """Append ``name=value`` to $GITHUB_OUTPUT."""
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")


def cache_dir() -> Path:
    store = os.environ["FORGEFLOW_ACT_STORE"]
    return Path(store) / os.environ.get("GITHUB_REPOSITORY", "local/repo") / "cache"


def entry(key: str) -> Path:
    return cache_dir() / hashlib.sha256(key.encode()).hexdigest()


def resolve(raw: str) -> Path:
    path = Path(os.path.expanduser(raw))
    return path if path.is_absolute() else Path(os.environ.get("GITHUB_WORKSPACE", ".")) / path


def paths() -> list[str]:
    return [p.strip() for p in os.environ.get("STANDIN_PATH", "").splitlines() if p.strip()]


def save() -> int:
    key = os.environ.get("STANDIN_KEY", "")
    if not key:
        print("::error::Input required and not supplied: key")
        return 1
    target = entry(key)
    if target.exists():
        print(
            f"::warning::Failed to save: Unable to reserve cache with key {key}, another job "
            "may be creating this cache."
        )
        return 0
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for i, raw in enumerate(paths()):
            path = resolve(raw)
            if path.exists():
                tar.add(path, arcname=str(i))
    target.mkdir(parents=True)
    (target / "data.tar.gz").write_bytes(buffer.getvalue())
    (target / "meta.json").write_text(
        json.dumps({"key": key, "paths": paths(), "created": time.time_ns()})
    )
    print(f"Cache saved with key: {key}")
    return 0


def restore() -> int:
    env = os.environ
    key = env.get("STANDIN_KEY", "")
    if not key:
        print("::error::Input required and not supplied: key")
        return 1
    restore_keys = [
        k.strip() for k in env.get("STANDIN_RESTORE_KEYS", "").splitlines() if k.strip()
    ]
    found: Path | None = entry(key) if entry(key).exists() else None
    if found is None and cache_dir().is_dir():
        metas = [json.loads(m.read_text()) for m in cache_dir().glob("*/meta.json")]
        for prefix in restore_keys:
            hits = sorted(
                (m for m in metas if m["key"].startswith(prefix)),
                key=lambda m: m["created"],
                reverse=True,
            )
            if hits:
                found = entry(hits[0]["key"])
                break
    output("cache-primary-key", key)
    if found is None:
        if env.get("STANDIN_FAIL_ON_CACHE_MISS", "false") == "true":
            print(
                f"::error::Failed to restore cache entry. Exiting as fail-on-cache-miss is set. "
                f"Input key: {key}"
            )
            return 1
        print(f"Cache not found for input keys: {', '.join([key, *restore_keys])}")
        output("cache-hit", "false")
        return 0
    matched = json.loads((found / "meta.json").read_text())["key"]
    if env.get("STANDIN_LOOKUP_ONLY", "false") != "true":
        with tarfile.open(found / "data.tar.gz", mode="r:gz") as tar:
            for member in tar.getmembers():
                index, _, rest = member.name.partition("/")
                base = resolve(paths()[int(index)]) if int(index) < len(paths()) else None
                if base is None:
                    continue
                member.name = rest
                if rest:
                    tar.extract(member, base, filter="data")
                elif member.isfile():
                    base.parent.mkdir(parents=True, exist_ok=True)
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        base.write_bytes(extracted.read())
                else:
                    base.mkdir(parents=True, exist_ok=True)
    print(f"Cache restored from key: {matched}")
    output("cache-hit", "true" if matched == key else "false")
    output("cache-matched-key", matched)
    return 0


if __name__ == "__main__":
    sys.exit(save() if sys.argv[1:] == ["save"] else restore())
