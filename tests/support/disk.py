"""Putting a test's files on disk for a server to serve."""

from __future__ import annotations

from pathlib import Path


def write_files(root: Path, files: dict[str, bytes]) -> None:
    """Write each "/"-joined relative path under ``root``, making directories as needed."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
