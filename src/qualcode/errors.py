"""Errors and warnings raised by qualcode.

User errors (bad input files, missing models) derive from :class:`QualcodeError`;
the CLI shows them as one line on stderr and exits with code 2.  Anything else is
a bug and surfaces with a traceback.

Hierarchy::

    QualcodeError (Exception)
    ├── TranscriptError      a transcript cannot be read or parsed
    ├── ParticipantsError    the participants table is malformed or names unknown speakers
    ├── CodebookError        the codebook has YAML or schema problems (all listed at once)
    ├── ModelError           a spaCy pipeline or embedding model cannot be loaded
    ├── CorpusError          the corpus as a whole is unusable (empty, duplicate ids)
    ├── GoldError            a gold-standard file is malformed or names unknown codes/segments
    ├── CacheError           the parse cache cannot be written
    ├── ResultsError         a results directory is missing or incomplete
    ├── OptionError          an analysis option names an unknown code, theme, attribute… (also a ValueError)
    ├── StoreError           the project store is unreadable, newer than this version, or misused
    ├── RefiError            a REFI-QDA file is malformed, unsafe or not REFI-QDA at all
    └── ExportError          an export cannot be produced

    QualcodeWarning (UserWarning)
    ├── EncodingFallbackWarning      a transcript was not UTF-8 and was decoded with a fallback
    └── SpeakerWarning       a transcript has no speaker labels

Every error carries the offending ``path`` and, where it applies, ``line`` and
``key`` (a dotted path into a YAML document); ``str(error)`` reads
``path:line: key: message`` so that editors can jump to the place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CacheError",
    "CodebookError",
    "CorpusError",
    "EncodingFallbackWarning",
    "ExportError",
    "GoldError",
    "ModelError",
    "OptionError",
    "ParticipantsError",
    "Problem",
    "QualcodeError",
    "QualcodeWarning",
    "RefiError",
    "ResultsError",
    "SpeakerWarning",
    "StoreError",
    "TranscriptError",
]


def _location(path: str | Path | None, line: int | None, key: str | None) -> str:
    parts = []
    if path is not None:
        parts.append(str(path) + (f":{line}" if line is not None else ""))
    elif line is not None:
        parts.append(f"line {line}")
    if key:
        parts.append(key)
    return ": ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a file, with its location."""

    message: str
    path: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = _location(self.path, self.line, self.key)
        return f"{where}: {self.message}" if where else self.message


class QualcodeError(Exception):
    """Base class for errors caused by user input or the environment, not by a bug."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.key = key
        super().__init__(str(Problem(message, self.path, line, key)))


class TranscriptError(QualcodeError):
    """A transcript file is empty, binary, undecodable, corrupt or of an unknown format."""


class ParticipantsError(QualcodeError):
    """The participants table is malformed or does not match the transcripts."""


class CodebookError(QualcodeError):
    """The codebook cannot be used; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem], *, path: str | Path | None = None) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            first = self.problems[0]
            super().__init__(first.message, path=first.path or path, line=first.line, key=first.key)
        else:
            count = len(self.problems)
            super().__init__(f"{count} problems in codebook", path=path)

    def details(self) -> str:
        """All problems, one per line."""
        return "\n".join(str(p) for p in self.problems)


class ModelError(QualcodeError):
    """A language pipeline or embedding model is not installed or cannot be loaded."""


class CorpusError(QualcodeError):
    """The corpus as a whole cannot be used (no transcripts, duplicate document ids)."""


class GoldError(QualcodeError):
    """A gold-standard coding file is malformed or refers to unknown codes or segments."""


class CacheError(QualcodeError):
    """The parse cache directory cannot be created or written."""


class ResultsError(QualcodeError):
    """A results directory is missing files or was written by an incompatible version."""


class OptionError(QualcodeError, ValueError):
    """An analysis option is not one of the valid values; the message lists them."""


class RefiError(QualcodeError):
    """A REFI-QDA file is malformed, unsafe or not REFI-QDA at all."""


class StoreError(QualcodeError):
    """The project store is unreadable, from a newer qualcode, or asked something impossible."""


class ExportError(QualcodeError):
    """An export cannot be written."""


class QualcodeWarning(UserWarning):
    """Base class for qualcode warnings: something was repaired or guessed, and you should know."""


class EncodingFallbackWarning(QualcodeWarning):
    """A transcript was not valid UTF-8 and was decoded as Windows-1252/Latin-1."""


class SpeakerWarning(QualcodeWarning):
    """A transcript has no speaker labels and is treated as a single speaker."""
