"""REFI-QDA export: results as a ``.qdpx`` project, the codebook as a ``.qdc``.

A ``.qdpx`` is a ZIP holding ``project.qde`` (XML) and the plain texts in ``sources/<guid>.txt``
(the spec's spelling, §8.1); a ``.qdc`` is the codebook alone.  Text selections count Unicode code
points from 0, ``endPosition`` exclusive — our offsets exactly, so ``text[start:end]`` is the
segment.  (NVivo is reported to count UTF-16 units: characters beyond U+FFFF shift its offsets.)

GUIDs are uuid5 over a fixed namespace and stable names (codebook and code id, document id and
text digest, segment span, code, coder), so exporting the same results twice gives the same bytes
and a code keeps its GUID across runs and between the ``.qdc`` and the ``.qdpx``.  The XML is
built in the element order the schema requires, and files are written atomically.
"""

from __future__ import annotations

import re
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from lxml import etree

from ..errors import ExportError, OptionError, QualcodeWarning
from ..outputs import atomic_write
from ._common import CODEBOOK_NS, PROJECT_NS, SUGGESTIONS_USER, _present, _truncate

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:qualcode:refi-qda")  # never change: GUIDs derive from it
UNKNOWN_REVIEWER = "reviewer (not recorded)"
#: Codings exported by default: human-accepted and machine-suggested, never rejected.
DEFAULT_STATUSES = ("accepted", "suggested")
_PALETTE = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1",
            "#FF9DA7", "#9C755F", "#BAB0AC")
_NOT_ATTRIBUTES = {"memo", "coder"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _timestamp(value: str | None) -> str | None:
    """ISO 8601 (as in run.json) → xsd:dateTime in UTC with a ``Z``; None when absent or invalid."""
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when.replace(tzinfo=when.tzinfo or UTC).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(value) -> str:
    """The value as text XML can hold (form feeds and the like dropped; source files keep them)."""
    return _NOT_XML.sub("", str(value))


def _sub(parent, tag: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{etree.QName(parent).namespace}}}{tag}",
                               {k: _xml(v) for k, v in attributes.items() if v is not None})
    if text:
        element.text = _xml(text)
    return element


# --------------------------------------------------------------------------- codebook


def _description(item) -> str:
    parts = [item.definition]
    for title, entries in (("Include", getattr(item, "include", ())),
                           ("Exclude", getattr(item, "exclude", ()))):
        if entries:
            parts.append(f"{title}:\n" + "\n".join(f"- {entry}" for entry in entries))
    return "\n\n".join(p for p in parts if p)


def _code_guids(codebook) -> dict[str, str]:
    """Code or theme id → GUID; the same in every export of this codebook."""
    ids = [t.id for t in codebook.themes] + [c.id for c in codebook.codes]
    return {i: _guid(codebook.name, "code", i) for i in ids}


def _codes_element(parent, codebook, codable_themes: set[str]) -> None:
    guids = _code_guids(codebook)
    codes = _sub(parent, "Codes")

    def add(container, item, codable, color):
        element = _sub(container, "Code", guid=guids[item.id], name=item.label or item.id,
                       isCodable=str(codable).lower(), color=color)
        if _description(item):
            _sub(element, "Description", _description(item))
        for child in getattr(item, "codes", ()):
            add(element, child, True, color)

    for i, theme in enumerate(codebook.themes):
        add(codes, theme, theme.id in codable_themes, _PALETTE[i % len(_PALETTE)])


def _origin() -> str:
    from .. import __version__

    return f"qualcode {__version__}"


def _serialise(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _write(path: Path, write) -> Path:
    try:
        return atomic_write(path, write)
    except OSError as exc:
        raise ExportError(f"cannot write: {exc.strerror or exc}", path=path) from None


def export_qdc(codebook, path: str | Path) -> Path:
    """Write ``codebook`` as a REFI-QDA ``.qdc``: themes (not codable) → codes → sub-codes.

    Each code's description holds its definition and its inclusion and exclusion criteria.
    """
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=_origin())
    _codes_element(root, codebook, set())
    data = _serialise(root)
    return _write(Path(path), lambda tmp: tmp.write_bytes(data))


# --------------------------------------------------------------------------- project export


def _statuses(status) -> tuple[str, ...]:
    chosen = (status,) if isinstance(status, str) else tuple(status)
    chosen = tuple(dict.fromkeys(x for s in chosen for x in (DEFAULT_STATUSES if s == "all" else [s])))
    wrong = [s for s in chosen if s not in DEFAULT_STATUSES]
    if wrong or not chosen:
        raise OptionError(f"status must be among accepted, suggested or all, not {wrong or chosen!r}; "
                          "rejected codings are never exported")
    return chosen


def _documents(results, corpus) -> list[tuple[str, str, str, str]]:
    """(document id, source name, text, sha256) for every document of the run, checked against run.json."""
    from ..corpus import Corpus, load_corpus

    listed = results.run.get("corpus", {}).get("documents", [])
    if not isinstance(corpus, Corpus):
        folder = Path(corpus)
        if not folder.is_dir():
            raise ExportError("corpus must be the Corpus of the run or its transcripts folder",
                              path=folder)
        files = [folder / d["file"] for d in listed if d.get("file")]
        for file in files:
            if not file.is_file():
                raise ExportError(f"transcript {file.name} of this run is missing", path=folder)
        with warnings.catch_warnings():  # already shown when the run read these transcripts
            warnings.simplefilter("ignore", QualcodeWarning)
            corpus = load_corpus(files or [folder], unit="turn")
    texts = {d.document_id: d for d in corpus.documents}
    names = {d["document_id"]: d.get("file") for d in listed}
    digests = {d["document_id"]: d.get("sha256") for d in listed}
    result = []
    for document_id in results.documents["document_id"]:
        document = texts.get(document_id)
        if document is None:
            raise ExportError(f"document {document_id!r} of the results is not in the corpus given")
        if digests.get(document_id) and digests[document_id] != document.sha256:
            raise ExportError("transcript changed since the coding run (its text digest differs); "
                              "re-run `qualcode code`", path=document.path)
        result.append((document_id, names.get(document_id) or Path(document.path).name,
                       document.text, document.sha256))
    return result


def _user_names(rows: list[dict], coders: dict[str, str]) -> None:
    """Who made each coding: the machine for suggestions, else the coder recorded or given."""
    default = next(iter(coders.values())) if len(set(coders.values())) == 1 else UNKNOWN_REVIEWER
    for row in rows:
        coder = str(row["coder"]).strip() if _present(row.get("coder")) else ""
        row["user"] = (SUGGESTIONS_USER if row["status"] == "suggested"
                       else coders.get(coder, coder) if coder else default)


def _variable(series) -> tuple[str, object]:
    """REFI type of a participant attribute column and how to write its values."""
    from pandas.api import types

    values = series.dropna()
    if types.is_bool_dtype(series):
        return "Boolean", lambda v: str(bool(v)).lower()
    if types.is_integer_dtype(series) or (types.is_float_dtype(series) and len(values)
                                          and (values == values.round()).all()):
        return "Integer", lambda v: str(int(v))
    if types.is_float_dtype(series):
        return "Float", lambda v: format(Decimal(repr(float(v))), "f")  # xsd:decimal: no exponent
    return "Text", str


def export_qdpx(results, path: str | Path, *, corpus, coders=None,
                status: str | Iterable[str] = DEFAULT_STATUSES) -> Path:
    """Write the results as a REFI-QDA project (``.qdpx``) for ATLAS.ti, NVivo, MAXQDA, QualCoder….

    Parameters
    ----------
    results : Results or path
        A loaded results folder, or its path.
    corpus : Corpus or path
        The corpus the run coded, or its transcripts folder (re-read; each text must match
        its digest in run.json).
    coders : mapping of coder id to name, or list of names, optional
        A ``coder`` column in the codings says who accepted each coding; without one,
        accepted codings go to the single coder given, else to ``"reviewer (not recorded)"``.
        Suggestions are attributed to ``"qualcode (suggestions)"``.
    status : "accepted", "suggested", "all" or a list of them
        Which codings to export; by default accepted and suggested.  Rejected codings never are.

    One ``PlainTextSelection`` per coded segment holds a ``Coding`` per code and coder;
    participants become Cases with their attributes as Variables; a ``memo`` column in the
    codings becomes Notes.  The file is written atomically; the same results give the same bytes.
    """
    if not hasattr(results, "codings"):
        from ..results import load_results

        results = load_results(results)
    statuses = _statuses(status)
    coders = ({coders: coders} if isinstance(coders, str) else
              {str(k): str(v) for k, v in coders.items()} if isinstance(coders, Mapping) else
              {str(c): str(c) for c in coders or ()})
    project = _Project(results, _documents(results, corpus), coders, statuses)
    xml = _serialise(project.root)
    stamp = datetime.fromisoformat(project.created[:-1]) if project.created else None
    date_time = stamp.timetuple()[:6] if stamp and stamp.year >= 1980 else (1980, 1, 1, 0, 0, 0)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as archive:
            for name, data in [("project.qde", xml), *project.files]:
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type, info.create_system = zipfile.ZIP_DEFLATED, 3
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)

    return _write(Path(path), write)


class _Project:
    """Builds ``project.qde`` and the source files, in the element order the schema requires."""

    def __init__(self, results, documents, coders: dict[str, str], statuses) -> None:
        self.results, self.codebook = results, results.codebook
        self.created = _timestamp(results.run.get("started_at"))
        codings = results.codings[results.codings["status"].isin(statuses)]
        segments = results.segments.drop(columns=["document_id", *_NOT_ATTRIBUTES], errors="ignore")
        self.rows = codings.merge(segments, on="segment_id", how="left",
                                  suffixes=("", "_segment")).to_dict("records")
        _user_names(self.rows, coders)
        self.code_guids = _code_guids(self.codebook)
        for row in self.rows:
            if not _present(row["start"]):
                raise ExportError(f"a coding names segment {row['segment_id']!r}, which is not in "
                                  "segments.csv", path=results.folder)
            if row["code_id"] not in self.code_guids:
                raise ExportError(f"a coding uses code {row['code_id']!r}, which is not in the "
                                  "codebook", path=results.folder)
        names = {row["user"] for row in self.rows} | set(coders.values())
        self.users = {n: _guid("user", n) for n in [SUGGESTIONS_USER, *sorted(names - {SUGGESTIONS_USER})]}
        self.root = etree.Element(f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS},
                                  name=self.codebook.title or self.codebook.name, origin=_origin(),
                                  creatingUserGUID=self.users[SUGGESTIONS_USER])
        if self.created:
            self.root.set("creationDateTime", self.created)
        self.files: list[tuple[str, bytes]] = []
        self.notes: list = []
        self.selections: dict[str, list[str]] = {}  # participant → selection GUIDs
        users = _sub(self.root, "Users")
        ids = {name: coder_id for coder_id, name in coders.items() if coder_id != name}
        for name, guid in self.users.items():
            _sub(users, "User", guid=guid, name=name, id=ids.get(name))
        used = {row["code_id"] for row in self.rows}
        _codes_element(_sub(self.root, "CodeBook"), self.codebook,
                       used & {t.id for t in self.codebook.themes})
        variables = self._variables()
        cases = _sub(self.root, "Cases")
        source_guids = self._sources(documents)
        self._cases(cases, variables, source_guids)
        if self.notes:
            _sub(self.root, "Notes").extend(self.notes)
        _sub(self.root, "Description", f"Exported by {_origin()} from {results.folder.name}: "
                                       f"{results.basis}; codings with status {' or '.join(statuses)}.")

    def _variables(self) -> dict[str, tuple[str, str, object]]:
        names = [a for a in self.results.attributes if a not in _NOT_ATTRIBUTES]
        element = _sub(self.root, "Variables") if names else None
        result = {}
        for name in names:
            kind, write = _variable(self.results.segments[name])
            result[name] = (_guid(self.codebook.name, "variable", name), kind, write)
            _sub(element, "Variable", guid=result[name][0], name=name, typeOfVariable=kind)
        return result

    def _sources(self, documents) -> dict[str, str]:
        sources = _sub(self.root, "Sources")
        spans: dict[str, dict[tuple[int, int], list[dict]]] = {}
        for row in self.rows:
            spans.setdefault(row["document_id"], {}).setdefault(
                (int(row["start"]), int(row["end"])), []).append(row)
        guids = {}
        for document_id, name, text, digest in documents:
            guid = guids[document_id] = _guid(self.codebook.name, "source", document_id, digest)
            source = _sub(sources, "TextSource", guid=guid, name=name,
                          plainTextPath=f"internal://{guid}.txt",
                          creatingUser=self.users[SUGGESTIONS_USER], creationDateTime=self.created)
            self.files.append((f"sources/{guid}.txt", text.encode("utf-8")))  # REFI-QDA 1.5 §8.1
            for span, rows in sorted(spans.get(document_id, {}).items()):
                self._selection(source, guid, text, span, rows)
        return guids

    def _selection(self, source, source_guid: str, text: str, span, rows: list[dict]) -> None:
        (start, end), first = span, rows[0]
        if text[start:end] != first["text"]:
            raise ExportError(f"segment {first['segment_id']} does not match its document text at "
                              f"[{start}:{end}]; re-run `qualcode code`", path=self.results.folder)
        order = {c.id: i for i, c in enumerate([*self.codebook.themes, *self.codebook.codes])}
        codings = {}
        for row in sorted(rows, key=lambda r: (order[r["code_id"]], r["user"])):
            codings.setdefault((row["code_id"], row["user"]), row)
        guid = _guid(source_guid, "selection", start, end)
        selection = _sub(source, "PlainTextSelection", guid=guid, name=_truncate(first["text"]),
                         startPosition=start, endPosition=end,
                         creatingUser=self.users[next(iter(codings.values()))["user"]],
                         creationDateTime=self.created)
        for (code_id, user), row in codings.items():
            coding_guid = _guid(guid, "coding", code_id, user)
            coding = _sub(selection, "Coding", guid=coding_guid, creatingUser=self.users[user],
                          creationDateTime=self.created)
            _sub(coding, "CodeRef", targetGUID=self.code_guids[code_id])
            if _present(row.get("memo")):
                note = etree.Element(f"{{{PROJECT_NS}}}Note", guid=_guid(coding_guid, "note"),
                                     name=_xml(_truncate(str(row["memo"]), 60)),
                                     creatingUser=self.users[user])
                if self.created:
                    note.set("creationDateTime", self.created)
                _sub(note, "PlainTextContent", str(row["memo"]).strip())
                self.notes.append(note)
                _sub(coding, "NoteRef", targetGUID=note.get("guid"))
        if _present(first["participant_id"]):
            self.selections.setdefault(first["participant_id"], []).append(guid)

    def _cases(self, cases, variables, source_guids) -> None:
        segments = self.results.segments.dropna(subset=["participant_id"])
        for participant, rows in segments.groupby("participant_id", sort=True):
            case = _sub(cases, "Case", guid=_guid(self.codebook.name, "case", participant),
                        name=participant)
            speakers = ", ".join(dict.fromkeys(rows["speaker"].astype(str)))
            _sub(case, "Description", f"Participant {participant} (speaker label: {speakers})")
            for name, (guid, kind, write) in variables.items():
                values = rows[name].dropna()
                if len(values):
                    value = _sub(case, "VariableValue")
                    _sub(value, "VariableRef", targetGUID=guid)
                    _sub(value, f"{kind}Value", write(values.iloc[0]))
            for document_id in dict.fromkeys(rows["document_id"]):
                if document_id in source_guids:
                    _sub(case, "SourceRef", targetGUID=source_guids[document_id])
            for guid in self.selections.get(participant, []):
                _sub(case, "SelectionRef", targetGUID=guid)
        if not len(cases):
            self.root.remove(cases)
