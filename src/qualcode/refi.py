"""REFI-QDA exchange: results as a ``.qdpx`` project, the codebook as ``.qdc``, and reading both back.

REFI-QDA (https://www.qdasoftware.org) is the exchange standard of ATLAS.ti, NVivo, MAXQDA,
QualCoder and others.  A ``.qdpx`` is a ZIP holding ``project.qde`` (XML) and the plain texts in
``sources/<guid>.txt`` (the spec's spelling, §8.1; vendors often write ``Sources/``, which is read
too); a ``.qdc`` is the codebook alone.  Text selections count Unicode code
points from 0, ``endPosition`` exclusive — our offsets exactly, so ``text[start:end]`` is the
segment.  (NVivo is reported to count UTF-16 units: characters beyond U+FFFF shift its offsets.)

GUIDs are uuid5 over a fixed namespace and stable names (codebook and code id, document id and
text digest, segment span, code, coder), so exporting the same results twice gives the same bytes
and a code keeps its GUID across runs and between the ``.qdc`` and the ``.qdpx``.

Examples
--------
>>> results = load_results("results/")                                      # doctest: +SKIP
>>> export_qdpx(results, "study.qdpx", corpus="transcripts/")               # doctest: +SKIP
>>> validate("study.qdpx")                                                   # doctest: +SKIP
[]
>>> read_refi("study.qdpx").codings.head()                                  # doctest: +SKIP
"""

from __future__ import annotations

import re
import unicodedata
import uuid
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lxml import etree

from .errors import ExportError, OptionError, QualcodeWarning, RefiError
from .outputs import atomic_write
from .results import segments_covering

__all__ = ["DEFAULT_STATUSES", "SUGGESTIONS_USER", "ImportReport", "RefiError", "RefiProject",
           "export_qdc", "export_qdpx", "import_refi", "read_refi", "validate"]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:qualcode:refi-qda")  # never change: GUIDs derive from it
SUGGESTIONS_USER = "qualcode (suggestions)"
UNKNOWN_REVIEWER = "reviewer (not recorded)"
#: Codings exported by default: human-accepted and machine-suggested, never rejected.
DEFAULT_STATUSES = ("accepted", "suggested")
MAX_MEMBER_BYTES = 256 * 2**20  # largest project.qde or source text read from an archive
MAX_TOTAL_BYTES = 1024 * 2**20  # all members read from one archive together
MAX_MEMBERS = 100_000
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
    from . import __version__

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
    from .corpus import Corpus, load_corpus

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


def _present(value) -> bool:
    return value is not None and value == value and str(value).strip() != ""  # NaN != NaN


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


def _truncate(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


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
        from .results import load_results

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


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RefiProject:
    """A REFI-QDA project or codebook as tidy DataFrames.

    ``codes``: guid, name, parent_guid, description, color, is_codable.
    ``sources``: guid, name, kind (TextSource, PDFSource…), path, text (None when the source is
    not text or its text is not in the file).  ``codings``: source_guid, selection_guid, start,
    end (code points, end exclusive; NA for a whole-source coding), code_guid, code_name,
    user_guid, user_name, created, text, guid (the Coding's).  ``users``: guid, name, id.
    ``variables``: guid, name, type, description.  ``cases``: guid, name, description and one
    column per variable.  ``case_members``: case_guid, kind (source, selection, code),
    target_guid.  ``notes``: guid, name, text, user_guid, created, target_guid (one row per
    element the note is attached to).
    ``warnings`` lists what was skipped (pictures, media, external files…), never silently.
    """

    path: Path
    kind: str  # "project" or "codebook"
    name: str | None
    origin: str | None
    codes: object
    sources: object
    codings: object
    users: object
    variables: object
    cases: object
    case_members: object
    notes: object
    warnings: tuple[str, ...] = ()


_COLUMNS = {
    "codes": ["guid", "name", "parent_guid", "description", "color", "is_codable"],
    "sources": ["guid", "name", "kind", "path", "text"],
    "codings": ["source_guid", "selection_guid", "start", "end", "code_guid", "code_name",
                "user_guid", "user_name", "created", "text", "guid"],
    "users": ["guid", "name", "id"],
    "variables": ["guid", "name", "type", "description"],
    "cases": ["guid", "name", "description"],
    "case_members": ["case_guid", "kind", "target_guid"],
    "notes": ["guid", "name", "text", "user_guid", "created", "target_guid"],
}


def _parse(data: bytes, name: str):
    """Parse untrusted XML: no entities, no DTD, no network, no huge trees."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise RefiError(f"not well-formed XML: {exc}", path=name) from None
    if root.getroottree().docinfo.doctype:
        raise RefiError("DOCTYPE declarations are refused (REFI-QDA files have none; entities "
                        "are never expanded)", path=name)
    return root


class _Archive:
    """Read-only, size-capped access to the members of a ``.qdpx``."""

    def __init__(self, path: Path) -> None:
        self.path, self.budget = path, MAX_TOTAL_BYTES
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise RefiError(f"not a readable .qdpx (ZIP) archive: {exc}", path=path) from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise RefiError(f"archive has {len(infos)} members (at most {MAX_MEMBERS})", path=path)
        for name in (i.filename for i in infos):  # never trusted, though nothing is extracted
            if re.match(r"[\\/]|[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name):
                raise RefiError(f"unsafe archive member {name!r}: absolute or with '..'", path=path)
        self.members = {i.filename.lower(): i for i in infos if not i.is_dir()}

    def read(self, info: zipfile.ZipInfo) -> bytes:
        cap = min(MAX_MEMBER_BYTES, self.budget)
        if info.file_size > cap:
            raise RefiError(f"archive member {info.filename} is too large ({info.file_size} bytes; "
                            f"limit {cap})", path=self.path)
        try:
            with self.zip.open(info) as handle:
                data = handle.read(cap + 1)  # the header's size may lie
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise RefiError(f"cannot read archive member {info.filename}: {exc}",
                            path=self.path) from None
        if len(data) > cap:
            raise RefiError(f"archive member {info.filename} expands beyond {cap} bytes",
                            path=self.path)
        self.budget -= len(data)
        return data

    def project(self) -> bytes:
        found = [i for n, i in sorted(self.members.items()) if "/" not in n and n.endswith(".qde")]
        if not found:
            raise RefiError("no project.qde at the root of the archive", path=self.path)
        chosen = next((i for i in found if i.filename.lower() == "project.qde"), found[0])
        return self.read(chosen)

    def source(self, name: str) -> bytes | None:
        info = self.members.get(f"sources/{name.lower()}")
        return None if info is None else self.read(info)


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element, name: str) -> list:
    return [c for c in element if _local(c) == name]


def _text_of(element, name: str) -> str | None:
    found = _children(element, name)
    return found[0].text or "" if found else None


class _Reader:
    """Walks a parsed Project or CodeBook and fills the tables of :class:`RefiProject`."""

    def __init__(self, archive: _Archive | None) -> None:
        self.archive, self.warnings = archive, []
        self.tables: dict[str, list[dict]] = {name: [] for name in _COLUMNS}
        self.names: dict[str, str] = {}  # code and user GUID → name

    def add(self, table: str, *values, **extra) -> None:
        self.tables[table].append({**dict(zip(_COLUMNS[table], values, strict=False)), **extra})

    def codes(self, container, parent: str | None = None) -> None:
        for code in _children(container, "Code"):
            guid = code.get("guid")
            self.names[guid] = code.get("name")
            self.add("codes", guid, code.get("name"), parent, _text_of(code, "Description"),
                     code.get("color"), code.get("isCodable", "true").strip() in ("true", "1"))
            self.codes(code, guid)

    def text(self, element, label: str) -> str | None:
        inline, path = _text_of(element, "PlainTextContent"), element.get("plainTextPath") or ""
        name = path.removeprefix("internal://")
        if inline is not None:
            return inline
        if not path.startswith("internal://") or re.search(r"[\\/]", name):
            self.warnings.append(f"{label}: text {path or '(none)'} is not inside the file; not read")
            return None
        data = self.archive.source(name) if self.archive is not None else None
        try:
            if data is not None:
                return data.decode("utf-8").removeprefix("\ufeff")
            self.warnings.append(f"{label}: text file {name} is missing from the file")
        except UnicodeDecodeError:
            self.warnings.append(f"{label}: text file {name} is not UTF-8; not read")
        return None

    def codings(self, element, source: str, text: str | None, label: str) -> None:
        spans = []
        for selection in _children(element, "PlainTextSelection"):
            try:
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            except (TypeError, ValueError):
                self.warnings.append(f"{label}: selection {selection.get('guid')} has bad offsets")
                continue
            quote = selection.get("name") or ""
            if text is not None and text[start:end] != quote and text[start:end + 1] == quote:
                end += 1  # an inclusive end (as the spec words it), recognised by the quote
            if text is not None and not 0 <= start <= end <= len(text):
                self.warnings.append(f"{label}: selection {selection.get('guid')} [{start}:{end}] "
                                     f"lies outside its text ({len(text)} characters)")
            spans += [(c, selection.get("guid"), start, end) for c in _children(selection, "Coding")]
        spans += [(c, None, None, None) for c in _children(element, "Coding")]  # whole source
        for coding, selection, start, end in spans:
            code = next((r.get("targetGUID") for r in _children(coding, "CodeRef")), None)
            user = coding.get("creatingUser")
            inside = text is not None and start is not None and 0 <= start <= end <= len(text)
            self.add("codings", source, selection, start, end, code, self.names.get(code), user,
                     self.names.get(user), coding.get("creationDateTime"),
                     text[start:end] if inside else None, coding.get("guid"))

    def sources(self, container) -> None:
        for source in container:
            kind, guid, name = _local(source), source.get("guid"), source.get("name")
            label, text, before = f"{kind} {name!r}", None, len(self.tables["codings"])
            textual = source if kind == "TextSource" else next(
                iter(_children(source, "Representation")), None) if kind == "PDFSource" else None
            if textual is not None:
                text = self.text(textual, label)
                self.codings(textual, guid, text, label)
            skipped = sum(_local(e) == "Coding" for e in source.iter()) - (
                len(self.tables["codings"]) - before)
            if textual is None:
                self.warnings.append(f"{label}: not a text source, not read ({skipped} codings "
                                     "skipped)")
            elif skipped:
                self.warnings.append(f"{label}: {skipped} codings of PDF regions skipped (only "
                                     "text selections are read)")
            self.add("sources", guid, name, kind, source.get("plainTextPath") or source.get("path"),
                     text)

    def cases(self, root) -> None:
        variables = {}
        for variable in (v for c in _children(root, "Variables") for v in _children(c, "Variable")):
            variables[variable.get("guid")] = variable.get("name")
            self.add("variables", variable.get("guid"), variable.get("name"),
                     variable.get("typeOfVariable"), _text_of(variable, "Description"))
        for case in (k for c in _children(root, "Cases") for k in _children(c, "Case")):
            values = {}
            for value in _children(case, "VariableValue"):
                ref = next((r.get("targetGUID") for r in _children(value, "VariableRef")), None)
                typed = [c for c in value if _local(c).endswith("Value")]
                if ref and typed:
                    values[variables.get(ref, ref)] = typed[0].text
            self.add("cases", case.get("guid"), case.get("name"), _text_of(case, "Description"),
                     **values)
            for tag, kind in (("SourceRef", "source"), ("SelectionRef", "selection"),
                              ("CodeRef", "code")):
                for ref in _children(case, tag):
                    self.add("case_members", case.get("guid"), kind, ref.get("targetGUID"))

    def notes(self, root) -> None:
        targets: dict[str, list[str]] = {}
        for ref in root.iter():
            if _local(ref) == "NoteRef":
                targets.setdefault(ref.get("targetGUID"), []).append(ref.getparent().get("guid"))
        for note in (n for c in _children(root, "Notes") for n in _children(c, "Note")):
            text = self.text(note, f"Note {note.get('name')!r}")
            for target in targets.get(note.get("guid"), [None]):
                self.add("notes", note.get("guid"), note.get("name"), text,
                         note.get("creatingUser"), note.get("creationDateTime"), target)

    def project(self, root) -> None:
        for user in (u for c in _children(root, "Users") for u in _children(c, "User")):
            self.names[user.get("guid")] = user.get("name")
            self.add("users", user.get("guid"), user.get("name"), user.get("id"))
        for codes in (c for b in _children(root, "CodeBook") for c in _children(b, "Codes")):
            self.codes(codes)
        for container in _children(root, "Sources"):
            self.sources(container)
        self.cases(root)
        self.notes(root)
        for name in ("Sets", "Links", "Graphs"):
            for container in _children(root, name):
                self.warnings.append(f"{name}: {len(container)} not read (not supported)")


def _open(path: Path) -> tuple[_Archive | None, bytes]:
    """The archive (open, for the source texts) or None, and the project or codebook XML."""
    if not path.is_file():
        raise RefiError("no such file", path=path)
    if zipfile.is_zipfile(path):
        archive = _Archive(path)
        try:
            return archive, archive.project()
        except BaseException:
            archive.zip.close()
            raise
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_MEMBER_BYTES + 1)
    except OSError as exc:
        raise RefiError(f"cannot read: {exc.strerror}", path=path) from None
    if len(data) > MAX_MEMBER_BYTES:
        raise RefiError(f"file larger than {MAX_MEMBER_BYTES} bytes", path=path)
    return None, data


def read_refi(path: str | Path) -> RefiProject:
    """Read a REFI-QDA ``.qdpx``, ``.qde`` or ``.qdc``; unsupported parts become ``warnings``.

    Untrusted input is handled safely: no entity expansion, DTD or network access; archives
    with absolute or ``..`` member names are refused; members are read with size caps.
    Texts outside the archive (``relative://``, ``absolute://``) are never read.
    """
    import pandas as pd

    path = Path(path)
    archive, data = _open(path)
    try:
        root = _parse(data, str(path))
        reader = _Reader(archive)
        kind = {"Project": "project", "CodeBook": "codebook"}.get(_local(root))
        if kind is None:
            raise RefiError(f"root element <{_local(root)}> is neither <Project> nor <CodeBook>",
                            path=path)
        if kind == "project":
            reader.project(root)
        else:
            for codes in _children(root, "Codes"):
                reader.codes(codes)
            if _children(root, "Sets"):
                reader.warnings.append("Sets: code sets not read (not supported)")
    finally:
        if archive is not None:
            archive.zip.close()
    frames = {}
    for name, columns in _COLUMNS.items():
        rows = reader.tables[name]
        extra = [c for row in rows for c in row if c not in columns]
        frames[name] = pd.DataFrame(rows, columns=[*columns, *dict.fromkeys(extra)])
    for column in ("start", "end"):
        frames["codings"][column] = frames["codings"][column].astype("Int64")
    return RefiProject(path, kind, root.get("name"), root.get("origin"),
                       warnings=tuple(reader.warnings), **frames)


# --------------------------------------------------------------------------- validation


@lru_cache(maxsize=2)
def _schema(filename: str):
    data = resources.files("qualcode").joinpath("schemas", filename).read_bytes()
    return etree.XMLSchema(_parse(data, filename))


def validate(path: str | Path) -> list[str]:
    """Check a ``.qdpx`` (its project.qde), ``.qde`` or ``.qdc`` against the official REFI schemas.

    Returns the problems as ``file:line: message``; an empty list means valid.  Raises
    :class:`RefiError` when the file cannot be opened as REFI-QDA at all.
    """
    path = Path(path)
    archive, data = _open(path)
    if archive is not None:
        archive.zip.close()
    try:
        root = _parse(data, path.name)
    except RefiError as exc:
        return [str(exc)]
    schema = _schema("Codebook-mrt2019.xsd" if _local(root) == "CodeBook" else "Project-mrt2019.xsd")
    if schema.validate(root):
        return []
    return [f"{path.name}:{e.line}: {e.message}" for e in schema.error_log]


# --------------------------------------------------------------------------- import into a project


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

    def __init__(self, project, results, targets, sources, users) -> None:
        import pandas as pd

        self.decisions: dict[tuple, tuple] = {}  # (coder, segment, code, action, memo) → decision
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
        existing = store.decisions()
        done = set()
        for d in existing[~existing.stale].itertuples():
            new = d.new_code_id if isinstance(d.new_code_id, str) and d.new_code_id else None
            if d.action in ("accept", "add") or (d.action == "recode" and new):
                done.add((d.coder, d.segment_id, new or d.code_id, "add", None))
            elif d.action == "memo":
                done.add((d.coder, d.segment_id, d.code_id, "memo", d.memo))
        counts: dict[str, dict[str, int]] = {}
        rows = []
        for identity, decision in self.decisions.items():
            count = counts.setdefault(identity[0], {"add": 0, "memo": 0, "unchanged": 0})
            if identity in done:
                count["unchanged"] += 1
            else:
                count[identity[3]] += 1
                rows.append(decision)
        rows.sort(key=lambda r: r[2] == "memo")  # the adds first, then the memos on them
        if rows:
            store.decide_many(rows)
        return counts


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
    sources and of themes are reported, not imported.

    Everything is recorded in one transaction, or nothing.  A decision the coder already has in
    force (an add, accept or re-code to the same code on the segment; the same memo) is counted
    as ``unchanged`` and not recorded again, so importing the same file twice adds nothing, and
    a decision the coder took since (a rejection, say) stands.  ``codings.csv`` is then
    rewritten from the store.  A ``.qdc``, or a project without text codings, changes nothing:
    the report says how its codes map to the codebook.
    """
    from .results import load_results
    from .review import _store, apply_decisions

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
    plan = _Plan(project, results, targets, sources, users)
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
