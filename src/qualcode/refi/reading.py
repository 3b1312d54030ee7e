"""REFI-QDA reading and validation: a ``.qdpx``, ``.qde`` or ``.qdc`` from any tool as tidy DataFrames.

These files come from elsewhere and are untrusted: XML is parsed with no entity expansion, DTD
or network access, and a DOCTYPE is refused; archives with absolute or ``..`` member names are
refused and members are read with size caps (the header's size may lie); texts outside the
archive are never read.  Vendors often write ``Sources/`` for the spec's ``sources/``, so member
names are matched without case.  :func:`validate` checks a file against the official REFI
schemas shipped in ``qualcode/schemas/``.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lxml import etree

from ..errors import RefiError

MAX_MEMBER_BYTES = 256 * 2**20  # largest project.qde or source text read from an archive
MAX_TOTAL_BYTES = 1024 * 2**20  # all members read from one archive together
MAX_MEMBERS = 100_000


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
