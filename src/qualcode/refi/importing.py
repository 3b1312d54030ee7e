"""REFI-QDA import: another tool's codings of a ``.qdpx`` recorded as decisions in a project store.

Sources are matched to the run's documents by their text (or, failing that, their name), codes to
the codebook by id or label (or an explicit ``code_map``), and REFI users to qualcode coders.  Each
coding becomes ``add`` decisions on the segments its selection covers, notes become ``memo``
decisions; the codebook stays the researcher's, so unknown codes are reported, never added.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OptionError
from ..results import segments_covering
from ..review import record_imported
from ._common import SUGGESTIONS_USER, _present, _truncate
from .reading import read_refi


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_refi` recorded, or for a codebook, how its codes map.

    ``kind``: ``"project"`` (codings became decisions) or ``"codebook"`` (a ``.qdc``, or a
    project without text codings: the code mapping is checked and nothing changes).
    ``codes``: (REFI code name, codebook code or theme id, or None) for every REFI code, in file
    order.  ``unmatched_codes``: REFI codes that map to nothing (for a project, those its codings
    use).  ``missing_codes``: codebook codes no REFI code maps to.  ``sources``: (REFI source
    name, document id).  ``unmatched_sources``: "name: why".  ``uncovered``: selections that
    cover no segment (interviewer speech, a span between segments…), with offsets into the
    document's text here.  ``coders``: (REFI user, qualcode coder).  ``counts``: coder →
    {"add", "memo", "unchanged"}: decisions recorded, and those already in the store (not
    recorded again).  ``warnings``: read_refi's and the import's.
    """

    path: Path
    into: Path
    kind: str
    codes: tuple[tuple[str, str | None], ...] = ()
    unmatched_codes: tuple[str, ...] = ()
    missing_codes: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    unmatched_sources: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()
    coders: tuple[tuple[str, str], ...] = ()
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def recorded(self) -> int:
        """Decisions recorded by this import (0 for a codebook or a repeated import)."""
        return sum(c.get("add", 0) + c.get("memo", 0) for c in self.counts.values())

    def problems(self) -> list[str]:
        """One line per kind of problem, naming the first few items."""
        lines = []
        for label, items in (("sources matching no document", self.unmatched_sources),
                             ("codes of the file not in the codebook", self.unmatched_codes),
                             ("codebook codes not in the file", self.missing_codes),
                             ("selections covering no segment", self.uncovered),
                             ("warnings", self.warnings)):
            if items:
                shown = "; ".join(items[:3]) + ("; …" if len(items) > 3 else "")
                lines.append(f"{label} ({len(items)}): {shown}")
        return lines


def _key(name) -> str:
    """A name compared without case, accents or extra spaces."""
    text = unicodedata.normalize("NFKD", str(name)).casefold()
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


def _bare_guid(guid) -> str:
    return str(guid).strip("{}").lower()


def _code_targets(refi_codes, codebook, code_map) -> tuple[dict[str, str | None], list[str]]:
    """REFI code GUID → codebook code (or theme) id, by ``code_map``, then by id or label."""
    known = {c.id for c in codebook.codes}
    explicit = {str(k): str(v) for k, v in (code_map or {}).items()}
    wrong = sorted({v for v in explicit.values() if v not in known})
    if wrong:
        raise OptionError(f"code_map names unknown code(s) {', '.join(wrong)}; codes are: "
                          f"{', '.join(sorted(known))}")
    by_guid = {_bare_guid(k): v for k, v in explicit.items()}
    by_name = {_key(k): v for k, v in explicit.items()}
    lookup: dict[str, str] = {}
    for items in (codebook.codes, codebook.themes):
        for attribute in ("id", "label"):
            for item in items:
                lookup.setdefault(_key(getattr(item, attribute) or item.id), item.id)
    targets, used = {}, set()
    for guid, name in zip(refi_codes["guid"], refi_codes["name"], strict=True):
        hit = next(((k, v) for k, v in ((_bare_guid(guid), by_guid.get(_bare_guid(guid))),
                                        (_key(name), by_name.get(_key(name)))) if v), None)
        if hit:
            used.add(hit[0])
        targets[guid] = hit[1] if hit else lookup.get(_key(name))
    return targets, [f"code mapping {k!r} matches no code of the file" for k in explicit
                     if _bare_guid(k) not in used and _key(k) not in used]


def _normalised(text: str):
    """The text as qualcode reads it (``\\n`` newlines, NFC) and a map of offsets into it."""
    import bisect

    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    pairs = [m.start() for m in re.finditer("\r\n", text)]
    normal = unicodedata.normalize("NFC", lines)

    def offset(o: int) -> int:
        o -= bisect.bisect_left(pairs, o)  # each CRLF before o is one character less
        return o if normal == lines else len(unicodedata.normalize("NFC", lines[:o]))

    return normal, offset


def _match_sources(project, results) -> tuple[dict, list[str], list[str]]:
    """REFI source GUID → (document id, offset map); unmatched "name: why"; warnings."""
    import hashlib

    listed = results.run.get("corpus", {}).get("documents", [])
    by_digest = {d["sha256"]: d for d in listed if d.get("sha256")}
    by_name = {}
    for d in listed:
        file = str(d.get("file") or "")
        for name in (file, Path(file).stem, d["document_id"]):
            by_name.setdefault(_key(name), d)
    matched, unmatched, notes = {}, [], []
    for source in project.sources.itertuples():
        name = str(source.name or source.guid)
        named = by_name.get(_key(name)) or by_name.get(_key(Path(name).stem))
        if isinstance(source.text, str):
            normal, offset = _normalised(source.text)
            document = by_digest.get(hashlib.sha256(normal.encode("utf-8")).hexdigest())
            if document is not None:
                matched[source.guid] = (document["document_id"], offset)
            elif named is not None:
                unmatched.append(f"{name}: its text differs from {named.get('file') or named['document_id']}"
                                 " of the run (offsets would not line up)")
            else:
                unmatched.append(f"{name}: no document of the run has its text or name")
        elif named is not None and source.kind == "TextSource":
            matched[source.guid] = (named["document_id"], lambda o: o)
            notes.append(f"{name}: its text is not in the file; matched to {named['document_id']} by "
                         "name, offsets taken as they are")
        else:
            unmatched.append(f"{name}: {source.kind} without its text in the file")
    return matched, unmatched, notes


def _coder_names(project, coders) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """REFI user GUID → (its name, qualcode coder); the coder is None for the machine's suggestions."""
    given = {str(k): str(v).strip() for k, v in (coders or {}).items()}
    if not all(given.values()):
        raise OptionError("every coder given must map to a non-empty coder name")
    users = {str(u.guid): (u.name, u.id) for u in project.users.itertuples()}
    result, used = {}, set()
    for guid in dict.fromkeys([*users, *map(str, project.codings.user_guid),
                               *map(str, project.notes.user_guid)]):
        name, user_id = users.get(guid, (None, None))
        keys = [str(k) for k in (name, user_id, guid) if _present(k) and str(k) not in ("None", "<NA>")]
        label = keys[0] if keys else "(no user)"
        hit = next((k for k in keys if k in given), None)
        if hit is not None:
            used.add(hit)
        result[guid] = (label, given[hit] if hit is not None else
                        None if label == SUGGESTIONS_USER else label)
    return result, [f"coder mapping {k!r} matches no user of the file" for k in given if k not in used]


_SKIPPED = {
    "whole": "{} codings of whole sources not imported (qualcode codes segments)",
    "theme": "{} codings of themes not imported (decisions are on codes)",
    "machine": f"{{}} codings by {SUGGESTIONS_USER!r} (machine suggestions) not imported; "
               "map that user in coders to import them",
}


class _Plan:
    """The decisions a REFI project asks for, each once, in file order."""

    def __init__(self, project, results, targets, sources, users, origin: str) -> None:
        import pandas as pd

        self.decisions: dict[tuple, tuple] = {}  # (coder, segment, code, action, memo) → decision
        self.covered: dict[tuple[str, str, str], None] = {}  # (coder, document, origin): coded there
        self.uncovered: dict[tuple, str] = {}
        self.unknown_codes: dict[str, None] = {}
        self.skipped = dict.fromkeys(_SKIPPED, 0)
        self.notes: list[str] = []
        themes = {t.id for t in results.codebook.themes}
        names = dict(zip(project.sources.guid, project.sources.name, strict=True))
        spans = results.segments[["document_id", "segment_id", "start", "end"]]
        segments = dict(tuple(spans.groupby("document_id")))
        covered: dict[str, list[tuple[str, str, str]]] = {}  # coding/selection GUID → segment, code, coder
        for coding in project.codings.itertuples():
            target = targets.get(coding.code_guid)
            if target is None:
                self.unknown_codes[str(coding.code_name or coding.code_guid)] = None
            if coding.source_guid not in sources:
                continue
            if pd.isna(coding.start):
                self.skipped["whole"] += 1
                continue
            document_id, offset = sources[coding.source_guid]
            start, end = offset(int(coding.start)), offset(int(coding.end))
            hits = segments_covering(segments[document_id], start, end) if document_id in segments else []
            if not hits:
                quote = f" «{_truncate(str(coding.text), 40)}»" if _present(coding.text) else ""
                self.uncovered.setdefault((coding.source_guid, start, end),
                                          f"{names[coding.source_guid]} [{start}:{end}]{quote}")
            coder = users.get(str(coding.user_guid), ("", None))[1]
            if target is None or target in themes or coder is None:
                if target is not None:
                    self.skipped["theme" if target in themes else "machine"] += 1
                continue
            if hits:
                self.covered[coder, document_id, origin] = None
            for segment_id in hits:
                self.decisions.setdefault((coder, segment_id, target, "add", None),
                                          (segment_id, target, "add", coder, None, None))
                for guid in (coding.guid, coding.selection_guid):
                    if _present(guid):
                        covered.setdefault(str(guid), []).append((segment_id, target, coder))
        self._memos(project, covered, users)
        self.notes += [text.format(n) for key, text in _SKIPPED.items() if (n := self.skipped[key])]

    def _memos(self, project, covered, users) -> None:
        memos: dict[tuple[str, str, str], list[str]] = {}
        for note in project.notes.itertuples():
            if not _present(note.target_guid) or str(note.target_guid) not in covered:
                continue
            if not _present(note.text) or not str(note.text).strip():
                self.notes.append(f"note {note.name!r}: its text is not in the file; not imported")
                continue
            author = users.get(str(note.user_guid), ("", None))[1]
            for segment_id, code_id, coder in covered[str(note.target_guid)]:
                texts = memos.setdefault((author or coder, segment_id, code_id), [])
                if str(note.text).strip() not in texts:
                    texts.append(str(note.text).strip())
        for (coder, segment_id, code_id), texts in memos.items():
            memo = "\n\n".join(texts)
            self.decisions.setdefault((coder, segment_id, code_id, "memo", memo),
                                      (segment_id, code_id, "memo", coder, None, memo))

    def record(self, store) -> dict[str, dict[str, int]]:
        """Record the decisions the store lacks, in one transaction; return the counts per coder."""
        return record_imported(store, self.decisions, list(self.covered))


def import_refi(path: str | Path, into: str | Path, *, coders: Mapping[str, str] | None = None,
                code_map: Mapping[str, str] | None = None) -> ImportReport:
    """Bring a ``.qdpx`` coded in another tool (QualCoder, NVivo, ATLAS.ti, MAXQDA…) into a project.

    Parameters
    ----------
    path : path
        A REFI-QDA ``.qdpx`` / ``.qde`` project, or a ``.qdc`` codebook.
    into : path
        A results folder of ``qualcode code`` (segments.csv, run.json, project.sqlite).
    coders : mapping, optional
        REFI user (name, id or GUID) → qualcode coder; by default a user is the coder of its
        name.  Codings by ``"qualcode (suggestions)"`` (the machine's suggestions in our own
        exports) are not imported unless that user is mapped here.
    code_map : mapping, optional
        REFI code (name or GUID) → code id of the codebook.  Other codes match a code id or
        label by name, ignoring case and accents; codes that match nothing are reported, never
        added: the codebook is the researcher's.

    Each source is matched to a document of the run by its text: the sha256 of the text with
    ``\\n`` newlines and NFC is the digest in run.json (offsets are mapped when the file's text
    has CRLF or decomposed accents).  A source whose text is not in the file is matched by file
    name or stem; one whose text differs is reported, as its offsets would not line up.  Each
    coding becomes an ``add`` decision of its code by its coder on every segment its selection
    covers (overlap of at least half the segment, or half the selection, the rule for gold
    spans); the store counts an add on a suggested code as its acceptance.  Notes attached to a
    coding or its selection become ``memo`` decisions of the note's author.  Codings of whole
    sources and of themes are reported, not imported.  A document in which a coder coded
    something is recorded as covered by that coder (:meth:`ProjectStore.coverage`): its
    other segments count as read and left uncoded, for agreement and learning.

    Everything is recorded in one transaction, or nothing.  A decision the coder already has in
    force (an add, accept or re-code to the same code on the segment; the same memo) is counted
    as ``unchanged`` and not recorded again, so importing the same file twice adds nothing, and
    a decision the coder took since (a rejection, say) stands.  ``codings.csv`` is then
    rewritten from the store.  A ``.qdc``, or a project without text codings, changes nothing:
    the report says how its codes map to the codebook.
    """
    from ..results import load_results
    from ..review import _store, apply_decisions

    path, into = Path(path), Path(into)
    results = load_results(into)
    project = read_refi(path)
    targets, code_notes = _code_targets(project.codes, results.codebook, code_map)
    names = dict(zip(project.codes.guid, project.codes.name, strict=True))
    mapping = tuple((str(names[g]), t) for g, t in targets.items())
    mapped = set(targets.values())
    common = {"path": path, "into": into, "codes": mapping,
              "missing_codes": tuple(c.id for c in results.codebook.codes if c.id not in mapped)}
    if project.kind == "codebook" or project.codings.empty:
        extra = ["the project has no text codings: only its codebook was checked"] \
            if project.kind == "project" else []
        return ImportReport(kind="codebook", unmatched_codes=tuple(n for n, t in mapping if t is None),
                            warnings=(*project.warnings, *code_notes, *extra), **common)
    sources, unmatched_sources, source_notes = _match_sources(project, results)
    users, user_notes = _coder_names(project, coders)
    plan = _Plan(project, results, targets, sources, users, path.name)
    with _store(into) as store:
        counts = plan.record(store)
    if any(c["add"] or c["memo"] for c in counts.values()):
        apply_decisions(into)
    source_names = dict(zip(project.sources.guid, project.sources.name, strict=True))
    acting = {identity[0] for identity in plan.decisions}
    return ImportReport(
        kind="project", unmatched_codes=tuple(plan.unknown_codes),
        sources=tuple((str(source_names[g]), d) for g, (d, _) in sources.items()),
        unmatched_sources=tuple(unmatched_sources), uncovered=tuple(plan.uncovered.values()),
        coders=tuple(dict.fromkeys((label, c) for label, c in users.values() if c in acting)),
        counts=counts, warnings=(*project.warnings, *code_notes, *source_notes, *user_notes,
                                 *plan.notes), **common)
