"""Atomic writing of result files: a reader never sees a half-written output.

Each file is written to a temporary file in the target folder and moved into
place with :func:`os.replace`; a group of tables is first written completely,
then moved, so a failure leaves the previous outputs untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import ExportError

__all__ = ["atomic_write", "write_tables"]


def _temporary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    return Path(name)


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` only if it succeeded."""
    path = Path(path)
    try:
        tmp = _temporary(path)
    except OSError as exc:
        raise ExportError(f"cannot write here: {exc.strerror}", path=path) from None
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def write_tables(folder: str | Path, tables: Mapping[str, object]) -> list[Path]:
    """Write DataFrames (``.csv``, ``.parquet``), dicts (``.json``) and texts into ``folder``, all or none."""
    folder = Path(folder)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, frame in tables.items():
            target = folder / name
            tmp = _temporary(target)
            staged.append((tmp, target))
            if isinstance(frame, str):
                tmp.write_text(frame, encoding="utf-8")
            elif target.suffix == ".json":
                import json

                tmp.write_text(json.dumps(frame, indent=2, ensure_ascii=False, default=str) + "\n",
                               encoding="utf-8")
            elif target.suffix == ".parquet":
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_csv(tmp, index=False, lineterminator="\n")
    except OSError as exc:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise ExportError(f"cannot write results: {exc.strerror}", path=folder) from None
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    return [target for _, target in staged]
