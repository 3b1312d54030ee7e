"""REFI-QDA exchange: results as a ``.qdpx`` project, the codebook as ``.qdc``, and reading both back.

REFI-QDA (https://www.qdasoftware.org) is the exchange standard of ATLAS.ti, NVivo, MAXQDA,
QualCoder and others.  A ``.qdpx`` is a ZIP holding ``project.qde`` (XML) and the plain texts in
``sources/<guid>.txt``; a ``.qdc`` is the codebook alone.  Text selections count Unicode code
points from 0, ``endPosition`` exclusive — our offsets exactly, so ``text[start:end]`` is the
segment.

The package has one module per side of the exchange, so each can be read (and trusted) alone:

- :mod:`.export` writes results as ``.qdpx`` and codebooks as ``.qdc`` (XML, deterministic GUIDs);
- :mod:`.reading` reads and validates untrusted ``.qdpx``/``.qde``/``.qdc`` files (size caps,
  no DOCTYPE, the official schemas);
- :mod:`.importing` records another tool's codings as decisions in a project store;
- :mod:`._common` holds the namespaces and helpers they share.

Everything is re-exported here: import from ``qualcode.refi``.

Examples
--------
>>> results = load_results("results/")                                      # doctest: +SKIP
>>> export_qdpx(results, "study.qdpx", corpus="transcripts/")               # doctest: +SKIP
>>> validate("study.qdpx")                                                   # doctest: +SKIP
[]
>>> read_refi("study.qdpx").codings.head()                                  # doctest: +SKIP
"""

from __future__ import annotations

# ruff: noqa: F401  (this module only re-exports; the names live in the modules below)
from ..errors import ExportError, OptionError, QualcodeWarning, RefiError
from ._common import CODEBOOK_NS, PROJECT_NS, SUGGESTIONS_USER
from .export import DEFAULT_STATUSES, NAMESPACE, UNKNOWN_REVIEWER, export_qdc, export_qdpx
from .importing import ImportReport, import_refi

# The size caps are read from .reading at call time: to change one, set it there, not here.
from .reading import MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_TOTAL_BYTES, RefiProject, read_refi, validate

__all__ = ["DEFAULT_STATUSES", "SUGGESTIONS_USER", "ImportReport", "RefiError", "RefiProject",
           "export_qdc", "export_qdpx", "import_refi", "read_refi", "validate"]
