"""Turn the bytes of a text transcript into normalised text.

Normalised text is what every offset in qualcode refers to: Unicode NFC, newlines
as ``\\n``, no byte-order mark.  Offsets are Python string indices (code points).
"""

from __future__ import annotations

import unicodedata
import warnings
from pathlib import Path

from .errors import EncodingFallbackWarning, TranscriptError

__all__ = ["decode_bytes", "normalise_text", "read_text"]

# Control characters that never occur in a transcript; their presence means binary data.
_BINARY_CONTROLS = {c for c in range(32) if chr(c) not in "\t\n\r\f\v"} | {0x7F}


def normalise_text(text: str) -> str:
    """NFC, ``\\n`` newlines, no BOM: the form all offsets refer to."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def _non_empty(text: str, path: str | Path) -> str:
    # A file holding only a byte-order mark or Unicode spaces is empty too.
    if not text.strip():
        raise TranscriptError("file is empty", path=path)
    return text


def decode_bytes(data: bytes, path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode transcript bytes; return ``(normalised_text, encoding_used)``.

    UTF-8 (with or without BOM) is tried first, then Windows-1252, the usual
    encoding of French transcripts typed on Windows; the fallback is reported
    with an :class:`EncodingFallbackWarning` naming the file.  Empty, binary or
    undecodable input raises :class:`TranscriptError` with the line.
    """
    if not data.strip():
        raise TranscriptError("file is empty", path=path)
    for i, byte in enumerate(data[:8192]):
        if byte in _BINARY_CONTROLS:
            raise TranscriptError(
                f"looks like a binary file (control byte 0x{byte:02x}), not a text transcript",
                path=path,
                line=_line_of(data, i),
            )
    if encoding is not None:
        try:
            return _non_empty(normalise_text(data.decode(encoding)), path), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            line = _line_of(data, exc.start) if isinstance(exc, UnicodeDecodeError) else None
            raise TranscriptError(f"cannot decode as {encoding}: {exc}", path=path, line=line) from None
    try:
        return _non_empty(normalise_text(data.decode("utf-8-sig")), path), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise TranscriptError(
                f"undecodable bytes: neither UTF-8 nor Windows-1252 (byte 0x{data[exc.start]:02x}); "
                "re-save the file as UTF-8",
                path=path,
                line=_line_of(data, exc.start),
            ) from None
        warnings.warn(
            f"{path}: not valid UTF-8 (line {_line_of(data, utf8_error.start)}); "
            "decoded as Windows-1252",
            EncodingFallbackWarning,
            stacklevel=2,
        )
        return _non_empty(normalise_text(text), path), "cp1252"


def read_text(path: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Read and decode a text file; see :func:`decode_bytes`."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TranscriptError(f"cannot read file: {exc.strerror}", path=path) from None
    return decode_bytes(data, path, encoding)
