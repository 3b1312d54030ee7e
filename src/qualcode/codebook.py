"""Thematic codebooks: themes → codes (→ sub-codes), hypotheses and settings, from YAML.

Loading validates everything before any transcript is read and reports every
problem at once, each with file, line and key path (``themes[1].codes[0].keywords``).
The format is documented in the README ("Codebook format").

Examples
--------
>>> codebook = load_codebook("codebooks/ds-ia-sante.yaml")   # doctest: +SKIP
>>> [c.id for c in codebook.codes][:3]                        # doctest: +SKIP
['top_down', 'bottom_up', 'combinaison']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import CodebookError, Problem
from .segmentation import UNITS

__all__ = [
    "SIMILARITY_BACKENDS",
    "Code",
    "Codebook",
    "Hypothesis",
    "Settings",
    "Theme",
    "TokenPattern",
    "load_codebook",
    "parse_codebook",
]

SIMILARITY_BACKENDS = ("vectors", "tfidf", "sentence-transformers", "none")
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class TokenPattern:
    """A spaCy ``Matcher`` token pattern with an id that shows up in the evidence."""

    id: str
    pattern: tuple[dict, ...]


@dataclass(frozen=True)
class Code:
    """A code: what to apply, when, and the material the machine matches against."""

    id: str
    label: str
    theme_id: str
    definition: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple[TokenPattern, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    threshold: float | None = None
    parent_id: str | None = None
    codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class Theme:
    """A theme groups codes."""

    id: str
    label: str
    definition: str = ""
    codes: tuple[Code, ...] = ()


@dataclass(frozen=True)
class Hypothesis:
    """A hypothesis and the codes whose segments support or contradict it.

    Each evidence item is a tuple of code ids that must all be present on one
    segment (a single code is a tuple of one).
    """

    id: str
    statement: str
    supported_by: tuple[tuple[str, ...], ...] = ()
    contradicted_by: tuple[tuple[str, ...], ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Settings:
    """Codebook-level settings; each has a default so a minimal codebook needs none."""

    pipeline: str | None = None  # spaCy pipeline package; default from the language
    unit: str = "sentence"
    accent_insensitive: bool = True
    threshold: float = 0.5
    context_window: int = 1
    similarity: str = "vectors"
    model_path: str | None = None
    verdict: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Codebook:
    """A validated codebook; ``sha256`` identifies its exact content in run records."""

    name: str
    version: str
    language: str
    themes: tuple[Theme, ...]
    hypotheses: tuple[Hypothesis, ...] = ()
    settings: Settings = field(default_factory=Settings)
    title: str = ""
    description: str = ""
    authors: tuple[str, ...] = ()
    path: str | None = None
    sha256: str = ""
    source: str = field(default="", repr=False, compare=False)  # the YAML text, copied into results

    @property
    def codes(self) -> tuple[Code, ...]:
        """All codes, depth first (a sub-code follows its parent)."""
        result: list[Code] = []

        def walk(codes):
            for code in codes:
                result.append(code)
                walk(code.codes)

        for theme in self.themes:
            walk(theme.codes)
        return tuple(result)

    def code(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        known = ", ".join(c.id for c in self.codes)
        raise KeyError(f"unknown code {code_id!r}; codes are: {known}")

    def theme(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(f"unknown theme {theme_id!r}")

    @property
    def pipeline(self) -> str:
        """The spaCy pipeline to use: the setting, else the language's default package."""
        from .nlp import DEFAULT_PIPELINE

        if self.settings.pipeline:
            return self.settings.pipeline
        if self.language == "fr":
            return DEFAULT_PIPELINE
        return f"{self.language}_core_web_md" if self.language == "en" else \
            f"{self.language}_core_news_md"

    def codes_frame(self):
        """One row per code: theme, label, definition, criteria and counts of matching material."""
        import pandas as pd

        theme_labels = {t.id: t.label for t in self.themes}
        rows = [{
            "theme_id": c.theme_id, "theme": theme_labels[c.theme_id], "code_id": c.id,
            "parent_id": c.parent_id, "label": c.label, "definition": c.definition,
            "include": " | ".join(c.include), "exclude": " | ".join(c.exclude),
            "keywords": len(c.keywords), "patterns": len(c.patterns),
            "examples": len(c.examples), "counter_examples": len(c.counter_examples),
            "threshold": c.threshold if c.threshold is not None else self.settings.threshold,
        } for c in self.codes]
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- loading

_CODEBOOK_KEYS = {"name", "title", "version", "language", "description", "authors", "settings",
                  "themes", "hypotheses"}
_THEME_KEYS = {"id", "label", "definition", "codes"}
_CODE_KEYS = {"id", "label", "definition", "include", "exclude", "keywords", "patterns",
              "examples", "counter_examples", "threshold", "codes"}
_HYPOTHESIS_KEYS = {"id", "statement", "supported_by", "contradicted_by", "notes"}
_SETTINGS_KEYS = {f.name for f in fields(Settings)}
_VERDICT_KEYS = {"min_participants", "min_segments", "contested_ratio", "status"}


class _Checker:
    """Collects problems with their YAML line numbers while data is converted."""

    def __init__(self, path: str | None, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        line = self.lines.get(key)
        while line is None and key:
            key_parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", key)
            if key_parent == key:
                break
            key, line = key_parent, self.lines.get(key_parent)
        self.problems.append(Problem(message, self.path, line, key_or_none(key)))

    def mapping(self, value: Any, key: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            self.add(key, f"expected a mapping, got {type(value).__name__}")
            return {}
        for k in value:
            if k not in allowed:
                hint = _closest(str(k), allowed)
                self.add(_join(key, k), f"unknown key {k!r}" + (f" (did you mean {hint!r}?)"
                                                                 if hint else ""))
        for k in sorted(required - set(value)):
            self.add(key, f"missing required key {k!r}")
        return value

    def string(self, value: Any, key: str, required: bool = False) -> str:
        if value is None:
            if required:
                self.add(key, "must not be empty")
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(key, f"expected text, got {type(value).__name__}")
            return ""
        return str(value).strip()

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(key, f"expected a list of texts, got {type(value).__name__}")
            return ()
        result = []
        for i, item in enumerate(value):
            text = self.string(item, f"{key}[{i}]")
            if not text:
                self.add(f"{key}[{i}]", "empty entry")
            else:
                result.append(text)
        return tuple(result)

    def number(self, value: Any, key: str, low: float, high: float) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(key, f"expected a number between {low} and {high}")
            return None
        if not low <= value <= high:
            self.add(key, f"{value} is outside [{low}, {high}]")
            return None
        return float(value)

    def ident(self, value: Any, key: str) -> str:
        text = self.string(value, key, required=True)
        if text and not _ID.match(text):
            self.add(key, f"invalid id {text!r}: use letters, digits, '_', '-' or '.', "
                          "starting with a letter")
        return text


def key_or_none(key: str) -> str | None:
    return key or None


def _join(base: str, key: Any) -> str:
    return f"{base}.{key}" if base else str(key)


def _closest(word: str, options: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.7)
    return match[0] if match else None


#: libyaml's safe loader when PyYAML was built with it: the same documents, ten times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_map(node: yaml.Node, key: str, lines: dict[str, int], checker_dupes: list,
              ancestors: frozenset[int]) -> None:
    if id(node) in ancestors:
        raise RecursionError("YAML alias refers to its own ancestor")
    ancestors = ancestors | {id(node)}
    lines.setdefault(key, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for k_node, v_node in node.value:
            name = k_node.value
            if name in seen:
                checker_dupes.append((_join(key, name), k_node.start_mark.line + 1))
            seen.add(name)
            lines[_join(key, name)] = k_node.start_mark.line + 1
            _line_map(v_node, _join(key, name), lines, checker_dupes, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, f"{key}[{i}]", lines, checker_dupes, ancestors)


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a YAML codebook; raise :class:`CodebookError` listing every problem."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CodebookError([Problem(f"cannot read codebook: {exc.strerror}", str(path))],
                            path=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CodebookError([Problem("codebook is not UTF-8 text", str(path))], path=path) from None
    return parse_codebook(text, path=str(path))


def parse_codebook(text: str, path: str | None = None) -> Codebook:
    """Validate codebook YAML given as text (``path`` is only used in messages)."""
    where = path or "<codebook>"
    if not text.strip():
        raise CodebookError([Problem("codebook is empty", where)], path=where)
    try:
        try:
            node = yaml.compose(text, Loader=_SAFE_LOADER)
            raw = yaml.load(text, Loader=_SAFE_LOADER)
        except yaml.YAMLError:  # PyYAML's own parser words the problem more plainly
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CodebookError([Problem(f"YAML syntax error: {problem}", where, line)],
                            path=where) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML raises these for values such as an impossible date or a bad !!int tag.
        raise CodebookError([Problem(f"invalid YAML value: {exc}", where)], path=where) from None
    lines: dict[str, int] = {}
    dupes: list[tuple[str, int]] = []
    try:
        if node is not None:
            _line_map(node, "", lines, dupes, frozenset())
        checker = _Checker(where, lines)
        for key, line in dupes:
            checker.problems.append(Problem("duplicate key", where, line, key))
        codebook = _build(raw, checker)
    except RecursionError:
        raise CodebookError([Problem("the codebook refers to itself (YAML alias) or nests too deeply",
                                     where)], path=where) from None
    if checker.problems:
        raise CodebookError(checker.problems, path=where)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _replace(codebook, path=path, sha256=digest, source=text)


def _replace(codebook: Codebook, **changes) -> Codebook:
    from dataclasses import replace

    return replace(codebook, **changes)


def _build(raw: Any, c: _Checker) -> Codebook:
    top = c.mapping(raw, "", _CODEBOOK_KEYS, {"name", "version", "language", "themes"})
    language = c.string(top.get("language"), "language", required="language" in top)
    if language and not re.fullmatch(r"[a-z]{2,3}", language):
        c.add("language", f"{language!r} is not an ISO 639 language code such as 'fr' or 'en'")
    settings = _settings(top.get("settings"), c)
    themes_raw = top.get("themes")
    if "themes" in top and (not isinstance(themes_raw, list) or not themes_raw):
        c.add("themes", "must be a non-empty list of themes")
        themes_raw = []
    ids: dict[str, str] = {}
    themes = tuple(_theme(t, f"themes[{i}]", c, ids) for i, t in enumerate(themes_raw or []))
    code_ids = {k for k, kind in ids.items() if kind == "code"}
    hyps_raw = top.get("hypotheses") or []
    if not isinstance(hyps_raw, list):
        c.add("hypotheses", "must be a list")
        hyps_raw = []
    hypotheses = tuple(_hypothesis(h, f"hypotheses[{i}]", c, code_ids, ids)
                       for i, h in enumerate(hyps_raw))
    authors = c.strings(top.get("authors"), "authors")
    version = c.string(top.get("version"), "version", required="version" in top)
    return Codebook(
        name=c.string(top.get("name"), "name", required="name" in top),
        version=version, language=language, themes=themes, hypotheses=hypotheses,
        settings=settings, title=c.string(top.get("title"), "title"),
        description=c.string(top.get("description"), "description"), authors=authors)


def _settings(raw: Any, c: _Checker) -> Settings:
    if raw is None:
        return Settings()
    data = c.mapping(raw, "settings", _SETTINGS_KEYS, set())
    values: dict[str, Any] = {}
    if "pipeline" in data:
        values["pipeline"] = c.string(data["pipeline"], "settings.pipeline") or None
    if "unit" in data:
        if data["unit"] not in UNITS:
            c.add("settings.unit", f"{data['unit']!r} is not a unit; use one of {', '.join(UNITS)}")
        else:
            values["unit"] = data["unit"]
    if "accent_insensitive" in data:
        if not isinstance(data["accent_insensitive"], bool):
            c.add("settings.accent_insensitive", "expected true or false")
        else:
            values["accent_insensitive"] = data["accent_insensitive"]
    threshold = c.number(data.get("threshold"), "settings.threshold", 0, 1)
    if threshold is not None:
        values["threshold"] = threshold
    if "context_window" in data:
        window = data["context_window"]
        if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= 5:
            c.add("settings.context_window", "expected a whole number from 0 to 5")
        else:
            values["context_window"] = window
    if "similarity" in data:
        if data["similarity"] not in SIMILARITY_BACKENDS:
            c.add("settings.similarity", f"{data['similarity']!r} is not a similarity backend; "
                                         f"use one of {', '.join(SIMILARITY_BACKENDS)}")
        else:
            values["similarity"] = data["similarity"]
    if "model_path" in data:
        values["model_path"] = c.string(data["model_path"], "settings.model_path") or None
    if values.get("similarity") == "sentence-transformers" and not values.get("model_path"):
        c.add("settings.similarity", "the sentence-transformers backend needs settings.model_path "
                                     "(a local model folder; nothing is downloaded)")
    if "verdict" in data:
        verdict = c.mapping(data["verdict"], "settings.verdict", _VERDICT_KEYS, set())
        values["verdict"] = dict(verdict)
    return Settings(**values)


def _register(ident: str, kind: str, key: str, c: _Checker, ids: dict[str, str]) -> None:
    if not ident:
        return
    if ident in ids:
        c.add(key, f"duplicate id {ident!r} (already used by a {ids[ident]})")
    else:
        ids[ident] = kind


def _theme(raw: Any, key: str, c: _Checker, ids: dict[str, str]) -> Theme:
    data = c.mapping(raw, key, _THEME_KEYS, {"id", "label", "codes"})
    ident = c.ident(data.get("id"), f"{key}.id") if "id" in data else ""
    _register(ident, "theme", f"{key}.id", c, ids)
    codes_raw = data.get("codes")
    if "codes" in data and (not isinstance(codes_raw, list) or not codes_raw):
        c.add(f"{key}.codes", "must be a non-empty list of codes")
        codes_raw = []
    codes = tuple(_code(x, f"{key}.codes[{i}]", c, ids, ident, None)
                  for i, x in enumerate(codes_raw or []))
    return Theme(ident, c.string(data.get("label"), f"{key}.label", required="label" in data),
                 c.string(data.get("definition"), f"{key}.definition"), codes)


def _code(raw: Any, key: str, c: _Checker, ids: dict[str, str], theme_id: str,
          parent: str | None) -> Code:
    data = c.mapping(raw, key, _CODE_KEYS, {"id", "label"})
    ident = c.ident(data.get("id"), f"{key}.id") if "id" in data else ""
    _register(ident, "code", f"{key}.id", c, ids)
    children_raw = data.get("codes") or []
    if not isinstance(children_raw, list):
        c.add(f"{key}.codes", "must be a list of sub-codes")
        children_raw = []
    children = tuple(_code(x, f"{key}.codes[{i}]", c, ids, theme_id, ident)
                     for i, x in enumerate(children_raw))
    return Code(
        id=ident, label=c.string(data.get("label"), f"{key}.label", required="label" in data),
        theme_id=theme_id, definition=c.string(data.get("definition"), f"{key}.definition"),
        include=c.strings(data.get("include"), f"{key}.include"),
        exclude=c.strings(data.get("exclude"), f"{key}.exclude"),
        keywords=c.strings(data.get("keywords"), f"{key}.keywords"),
        patterns=_patterns(data.get("patterns"), f"{key}.patterns", c),
        examples=c.strings(data.get("examples"), f"{key}.examples"),
        counter_examples=c.strings(data.get("counter_examples"), f"{key}.counter_examples"),
        threshold=c.number(data.get("threshold"), f"{key}.threshold", 0, 1),
        parent_id=parent, codes=children)


def _patterns(raw: Any, key: str, c: _Checker) -> tuple[TokenPattern, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.add(key, "expected a list of {id, pattern} entries")
        return ()
    result = []
    for i, item in enumerate(raw):
        item_key = f"{key}[{i}]"
        data = c.mapping(item, item_key, {"id", "pattern"}, {"id", "pattern"})
        if not data:
            continue
        ident = c.ident(data.get("id"), f"{item_key}.id")
        pattern = data.get("pattern")
        if not isinstance(pattern, list) or not pattern or \
                not all(isinstance(t, dict) for t in pattern):
            c.add(f"{item_key}.pattern", "expected a non-empty list of token mappings, "
                                         "e.g. [{LEMMA: peur}, {LEMMA: remplacer}]")
            continue
        for message in _validate_token_pattern(pattern):
            c.add(f"{item_key}.pattern", f"invalid spaCy token pattern: {message}")
        result.append(TokenPattern(ident, tuple(pattern)))
    return tuple(result)


def _validate_token_pattern(pattern: list[dict]) -> list[str]:
    from spacy.schemas import validate_token_pattern

    return [str(e) for e in validate_token_pattern(pattern)]


def _hypothesis(raw: Any, key: str, c: _Checker, code_ids: set[str],
                ids: dict[str, str]) -> Hypothesis:
    data = c.mapping(raw, key, _HYPOTHESIS_KEYS, {"id", "statement"})
    ident = c.ident(data.get("id"), f"{key}.id") if "id" in data else ""
    _register(ident, "hypothesis", f"{key}.id", c, ids)
    links = {}
    for name in ("supported_by", "contradicted_by"):
        items = data.get(name) or []
        if not isinstance(items, list):
            c.add(f"{key}.{name}", "expected a list of code ids or {all_of: [...]} entries")
            items = []
        links[name] = tuple(_evidence(x, f"{key}.{name}[{i}]", c, code_ids)
                            for i, x in enumerate(items))
    if "id" in data and not links["supported_by"] and not links["contradicted_by"]:
        c.add(key, "a hypothesis needs supported_by or contradicted_by codes")
    return Hypothesis(ident, c.string(data.get("statement"), f"{key}.statement",
                                      required="statement" in data),
                      links["supported_by"], links["contradicted_by"],
                      c.string(data.get("notes"), f"{key}.notes"))


def _evidence(raw: Any, key: str, c: _Checker, code_ids: set[str]) -> tuple[str, ...]:
    if isinstance(raw, dict):
        data = c.mapping(raw, key, {"all_of"}, {"all_of"})
        items = data.get("all_of")
        if not isinstance(items, list) or not items:
            c.add(f"{key}.all_of", "expected a non-empty list of code ids")
            return ()
        codes = tuple(str(x) for x in items)
        key = f"{key}.all_of"
    elif isinstance(raw, str):
        codes = (raw,)
    else:
        c.add(key, "expected a code id or {all_of: [code ids]}")
        return ()
    for code in codes:
        if code not in code_ids:
            hint = _closest(code, code_ids)
            c.add(key, f"unknown code {code!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
    return codes
