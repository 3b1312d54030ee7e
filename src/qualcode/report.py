"""The Word report: method, codebook, frequencies, matrices, heatmap, hypotheses and quotes.

A document a thesis author can paste from: numbered captions (``Tableau 1 – …``,
real Word ``SEQ`` fields), Heading 1/2/3 so Word can build a table of contents,
tables with a shaded repeating header row and right-aligned numbers, the wide
participant matrix in a landscape section, and every quote verbatim.  Labels
follow the codebook's language (French for ``fr``, else English).  The method
section says plainly whether the codings are machine suggestions or validated by
a human, and which status filter was applied.

Examples
--------
>>> results = load_results("results/")                                  # doctest: +SKIP
>>> write_report(results, "results/rapport.docx", status="accepted")    # doctest: +SKIP
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ._report_words import WORDS
from ._word import Builder
from .errors import OptionError
from .hypotheses import DEFAULTS, hypothesis_support
from .matrices import code_matrix, select_codings
from .results import Results
from .workbook import _save, code_frequencies, theme_frequencies

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_report", "write_report"]

LANGUAGES = ("fr", "en")


@dataclass
class _Context:
    """Everything the sections read: results, selected codings, words and options."""

    results: Results
    selected: pd.DataFrame
    words: dict
    language: str
    status: str
    min_score: float
    quotes: int
    labels: dict = field(default_factory=dict)

    def count(self, n) -> str:
        """A whole number with the language's thousands separator: ``2 022`` / ``2,022``."""
        return f"{int(n):,}".replace(",", self.words["thousands"])

    def fixed(self, x: float, digits: int = 2) -> str:
        """A number with ``digits`` decimals and the language's decimal mark: ``0,71``."""
        return f"{x:.{digits}f}".replace(".", self.words["decimal"])

    def num(self, x: float) -> str:
        """A setting as written (``0,5``, ``3``)."""
        return f"{x:g}".replace(".", self.words["decimal"])


# --------------------------------------------------------------------------- method

def _basis(ctx: _Context) -> tuple[str, str]:
    """The folder's basis and a plain sentence on the codings this report shows."""
    w, codings = ctx.words, ctx.results.codings
    if ctx.language == "en":
        basis = ctx.results.basis
    elif set(codings.status) <= {"suggested"}:
        basis = w["basis_machine"]
    else:
        accepted = int((codings.status == "accepted").sum())
        basis = w["basis_mixed"].format(accepted=ctx.count(accepted),
                                        others=ctx.count(len(codings) - accepted))
    accepted = int((ctx.selected.status == "accepted").sum())
    others = len(ctx.selected) - accepted
    plain = (w["plain_empty"] if not len(ctx.selected) else w["plain_machine"] if not accepted
             else w["plain_human"] if not others
             else w["plain_mixed"].format(accepted=ctx.count(accepted), others=ctx.count(others)))
    score = w["min_score"].format(ctx.num(ctx.min_score)) if ctx.min_score > 0 else ""
    return w["basis"].format(basis=basis, status=w["statuses"][ctx.status], score=score), plain


def _date(run: dict, language: str, time: bool = True) -> str | None:
    """The run's start (``started_at`` of run.json) in the language's format, or None."""
    try:
        when = datetime.fromisoformat(run["started_at"])
    except (KeyError, TypeError, ValueError):
        return None
    day = "%d/%m/%Y" if language == "fr" else "%Y-%m-%d"
    return when.strftime(day + (" %H:%M UTC" if time else ""))


def _method(doc: Builder, ctx: _Context) -> None:
    w, results, book = ctx.words, ctx.results, ctx.results.codebook
    run, params = results.run, {**_default_params(book), **results.run.get("parameters", {})}
    doc.heading(w["method"], 1)
    segments = results.segments
    doc.paragraph(w["corpus"].format(documents=ctx.count(segments.document_id.nunique()),
                                     participants=ctx.count(segments.participant_id.nunique()),
                                     segments=ctx.count(len(segments)),
                                     words=ctx.count(segments.words.sum())))
    doc.paragraph(w["book"].format(name=book.name, version=book.version, themes=len(book.themes),
                                   codes=len(book.codes), hypotheses=len(book.hypotheses)))
    unit = w["units"].get(params["unit"], params["unit"])
    doc.paragraph(w["unit"].format(unit=unit, window=params["context_window"]))
    own = [f"{c.id} {ctx.num(c.threshold)}" for c in book.codes if c.threshold is not None]
    low, high = params.get("calibration") or (0.0, 1.0)
    parser = run.get("parser", {})
    pipeline = " ".join(filter(None, [parser.get("pipeline", book.pipeline), parser.get("pipeline_version")]))
    backend = params["similarity"]
    similarity = "" if backend == "none" else w["similarity"].format(
        backend=w["backends"].get(backend, backend), low=ctx.num(low), high=ctx.num(high))
    doc.paragraph(w["coding"].format(
        threshold=ctx.num(params["threshold"]), own=w["own"].format(codes=", ".join(own)) if own else "",
        similarity=similarity, accents=w["yes"] if params["accent_insensitive"] else w["no"],
        pipeline=pipeline))
    methods = ctx.selected.method.value_counts()
    counts = {m: ctx.count(methods.get(m, 0)) for m in ("rule", "embedding", "hybrid")}
    doc.paragraph(w["methods"].format(n=ctx.count(len(ctx.selected)), **counts))
    doc.paragraph(w["run"].format(date=_date(run, ctx.language) or "?",
                                  version=run.get("tool", {}).get("version", "?")))
    basis, plain = _basis(ctx)
    doc.paragraph(basis)
    doc.paragraph(plain, bold=True)


def _default_params(book) -> dict:
    s = book.settings
    return {"unit": s.unit, "similarity": s.similarity, "threshold": s.threshold,
            "context_window": s.context_window, "accent_insensitive": s.accent_insensitive}


# --------------------------------------------------------------------------- codebook and frequencies

def _codebook(doc: Builder, ctx: _Context, codes: pd.DataFrame) -> None:
    w = ctx.words
    doc.heading(w["codebook"], 1)
    rows = [[r.theme, (r.label, r.code_id), " ".join(r.definition.split()), ctx.count(r.segments),
             ctx.count(r.participants)] for r in codes.itertuples()]
    table = doc.table(w["cap_codebook"], [w["theme"], w["code"], w["definition"], w["segments"],
                                          w["participants"]], rows, widths=[3.3, 3.8, 6.5, 1.5, 1.5],
                      numeric={3, 4}, size=8.5, together=False)
    doc.merge_runs(table, 0, list(codes.theme_id))


def _frequencies(doc: Builder, ctx: _Context, codes: pd.DataFrame) -> None:
    w = ctx.words
    doc.heading(w["frequencies"], 1)
    doc.heading(w["themes"], 2)
    themes = theme_frequencies(ctx.results, status=ctx.status, min_score=ctx.min_score)
    rows = [[r.theme, ctx.count(r.codes), ctx.count(r.segments), ctx.fixed(r.percent_segments, 1),
             ctx.count(r.participants), ctx.count(r.documents)] for r in themes.itertuples()]
    doc.table(w["cap_themes"], [w["theme"], w["n_codes"], w["segments"], w["percent"], w["participants"],
                                w["documents"]], rows, widths=[6.0, 1.6, 2.0, 2.2, 2.4, 2.2],
              numeric={1, 2, 3, 4, 5})
    doc.heading(w["codes"], 2)
    rows = [[r.label, ctx.count(r.segments), ctx.fixed(r.percent_segments, 1), ctx.count(r.participants),
             ctx.count(r.documents), "–" if r.mean_score != r.mean_score else ctx.fixed(r.mean_score)]
            for r in codes.itertuples()]
    doc.table(w["cap_codes"], [w["code"], w["segments"], w["percent"], w["participants"], w["documents"],
                               w["mean_score"]], rows, widths=[6.0, 2.0, 2.2, 2.4, 2.2, 2.0],
              numeric={1, 2, 3, 4, 5})


# --------------------------------------------------------------------------- matrices

def _matrix_rows(ctx: _Context, matrix: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Codes as rows (label), groups as columns, a Total column: the MAXQDA code matrix layout."""
    groups = [str(g) for g in matrix.index]
    rows = [[ctx.labels[code], *(ctx.count(v) for v in matrix[code]), ctx.count(matrix[code].sum())]
            for code in matrix.columns]
    return [ctx.words["code"], *groups, ctx.words["total"]], rows


def _matrices(doc: Builder, ctx: _Context) -> None:
    w, filters = ctx.words, {"status": ctx.status, "min_score": ctx.min_score}
    doc.section(landscape=True)
    doc.heading(w["matrices"], 1)
    doc.heading(w["by_participant"], 2)
    matrix = code_matrix(ctx.results, by="participant", **filters)
    header, rows = _matrix_rows(ctx, matrix)
    columns = len(header) - 1
    doc.table(w["cap_matrix"].format(group=w["groups"]["participant"]), header, rows,
              widths=[max(4.5, doc.text_width - 1.3 * columns), *[1.3] * columns],
              numeric=set(range(1, len(header))), size=8)
    doc.section(landscape=False)
    group = "role" if "role" in ctx.results.attributes else "participant"
    if group == "role":
        doc.heading(w["by_role"], 2)
        matrix = code_matrix(ctx.results, by="role", **filters)
        header, rows = _matrix_rows(ctx, matrix)
        doc.table(w["cap_matrix"].format(group=w["groups"]["role"]), header, rows,
                  widths=[5.0, *[1.5] * (len(header) - 1)], numeric=set(range(1, len(header))), size=8)
    doc.picture(_heatmap(matrix, ctx), w["cap_heatmap"].format(group=w["groups"][group]))


def _heatmap(matrix: pd.DataFrame, ctx: _Context) -> io.BytesIO:
    """Codes (rows, labels wrapped) × groups heatmap with the count in each cell, as PNG."""
    import textwrap

    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
    from matplotlib.ticker import MaxNLocator

    values = matrix.T.to_numpy()
    top = max(int(values.max()) if values.size else 0, 1)
    figure = Figure(figsize=(6.5, 1.3 + 0.32 * len(matrix.columns)), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0, vmax=top, aspect="auto")
    axes.set_xticks(range(len(matrix.index)), [str(g) for g in matrix.index], fontsize=8,
                    rotation=30, ha="right", rotation_mode="anchor")
    axes.set_yticks(range(len(matrix.columns)),
                    [textwrap.fill(ctx.labels[c], 42) for c in matrix.columns], fontsize=7.5)
    axes.tick_params(length=0)
    for (i, j), value in _cells(values):
        axes.text(j, i, str(value), ha="center", va="center", fontsize=7,
                  color="white" if value > 0.55 * top else "black")
    label = ctx.words["segments"].replace("\u00ad", "")
    bar = figure.colorbar(image, ax=axes, shrink=0.6, pad=0.02, ticks=MaxNLocator(integer=True))
    bar.set_label(label, fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200, metadata={"Software": None})
    buffer.seek(0)
    return buffer


def _cells(values):
    import numpy as np

    return ((index, int(value)) for index, value in np.ndenumerate(values))


# --------------------------------------------------------------------------- hypotheses and quotes

def _source(ctx: _Context, row: dict, codes: str | None = None) -> str:
    who = row["speaker"]
    role = row.get("role")
    if isinstance(role, str) and role and not who.startswith(role):  # not "DG 1 (DG)"
        who += f" ({role})"
    parts = [who, row["document_id"], f"{ctx.words['score']} {ctx.fixed(float(row['score']))}",
             ctx.words["status"].get(row["status"], row["status"])]
    return "— " + ", ".join(parts) + (f" · {codes}" if codes else "")


def _quotes(doc: Builder, ctx: _Context, frame: pd.DataFrame, codes: bool = False) -> None:
    if not len(frame):
        doc.paragraph(ctx.words["none"], italic=True)
    for row in frame.to_dict("records"):
        doc.quote(row.get("quote", row.get("text")), ctx.words["quote"],
                  _source(ctx, row, row["codes"] if codes else None))


def _hypotheses(doc: Builder, ctx: _Context) -> None:
    book, w = ctx.results.codebook, ctx.words
    if not book.hypotheses:
        return
    support = hypothesis_support(ctx.results, status=ctx.status, min_score=ctx.min_score, quotes=ctx.quotes)
    settings = {**DEFAULTS, **book.settings.verdict}
    doc.heading(w["hypotheses"], 1)
    doc.paragraph(w["rules_intro"].format(n=settings["min_participants"], m=settings["min_segments"],
                                          r=ctx.num(settings["contested_ratio"])))
    for rule in w["rules"]:
        doc.paragraph(rule, style="List Bullet")
    rows = [[s.hypothesis_id, s.statement, w["verdicts"][s.verdict],
             *(ctx.count(s.counts[k]) for k in ("supporting_segments", "supporting_participants",
                                              "contradicting_segments", "contradicting_participants"))]
            for s in support]
    doc.table(w["cap_hypotheses"], [w["hypothesis"], w["statement"], w["verdict"], w["seg_for"],
                                    w["part_for"], w["seg_against"], w["part_against"]], rows,
              widths=[1.6, 5.6, 2.4, 1.75, 1.75, 1.75, 1.75], numeric={3, 4, 5, 6}, size=8.5)
    for s, hypothesis in zip(support, book.hypotheses, strict=True):
        doc.heading(f"{s.hypothesis_id} — {w['verdicts'][s.verdict]}", 2)
        doc.paragraph(s.statement, italic=True)
        for label, items in ((w["supported_by"], hypothesis.supported_by),
                             (w["contradicted_by"], hypothesis.contradicted_by)):
            doc.paragraph(label + ", ".join(" + ".join(item) for item in items), size=9)
        doc.paragraph(w["rule"] + s.rule, size=9)
        doc.heading(w["for"], 3)
        _quotes(doc, ctx, s.quotes_for, codes=True)
        doc.heading(w["against"], 3)
        _quotes(doc, ctx, s.quotes_against, codes=True)


def _exemplar_rows(selected: pd.DataFrame, code_id: str, n: int) -> pd.DataFrame:
    """The ``n`` best-scoring segments of a code, new participants first, in score order."""
    ranked = selected[selected.code_id == code_id].sort_values(
        ["score", "document_id", "start"], ascending=[False, True, True], kind="stable")
    participants = list(ranked.participant_id)
    chosen: list[int] = []
    for varied in (True, False):
        for i, participant in enumerate(participants):
            seen = {participants[j] for j in chosen}
            if len(chosen) < n and i not in chosen and (not varied or participant not in seen):
                chosen.append(i)
    return ranked.iloc[sorted(chosen)]


def _exemplars(doc: Builder, ctx: _Context) -> None:
    w, book = ctx.words, ctx.results.codebook
    doc.heading(w["exemplars"], 1)
    doc.paragraph(w["exemplars_intro"].format(n=ctx.quotes))
    for theme in book.themes:
        doc.heading(theme.label, 2)
        for code in [c for c in book.codes if c.theme_id == theme.id]:
            doc.heading(code.label, 3)
            _quotes(doc, ctx, _exemplar_rows(ctx.selected, code.id, ctx.quotes))


# --------------------------------------------------------------------------- entry point

def _language(results: Results, language: str | None) -> str:
    if language is None:
        return "fr" if results.codebook.language == "fr" else "en"
    if language not in LANGUAGES:
        raise OptionError(f"unknown language {language!r}; choose from: {', '.join(LANGUAGES)}")
    return language


def build_report(results: Results, *, status: str = "all", min_score: float = 0.0, quotes_per_code: int = 3,
                 language: str | None = None):
    """The report as a python-docx ``Document``, not yet saved (see :func:`write_report`)."""
    if isinstance(quotes_per_code, bool) or not isinstance(quotes_per_code, int) or quotes_per_code < 0:
        raise OptionError(f"quotes_per_code must be a whole number >= 0, got {quotes_per_code!r}")
    language = _language(results, language)
    selected = select_codings(results, status=status, min_score=min_score)
    ctx = _Context(results, selected, WORDS[language], language, status, min_score, quotes_per_code,
                   {c.id: c.label for c in results.codebook.codes})
    book = results.codebook
    doc = Builder(language, ctx.words["table"], ctx.words["figure"])
    date = _date(results.run, language, time=False)
    subtitle = ctx.words["subtitle"].format(name=book.name, version=book.version)
    doc.title(book.title or book.name, subtitle + (ctx.words["coded_on"].format(date=date) if date else ""),
              when=results.run.get("started_at"))
    codes = code_frequencies(results, status=status, min_score=min_score)
    _method(doc, ctx)
    _codebook(doc, ctx, codes)
    _frequencies(doc, ctx, codes)
    _matrices(doc, ctx)
    _hypotheses(doc, ctx)
    _exemplars(doc, ctx)
    return doc.document


def write_report(results: Results, path: str | Path, *, status: str = "all", min_score: float = 0.0,
                 quotes_per_code: int = 3, language: str | None = None) -> Path:
    """Write the Word report of a results folder, atomically.

    Parameters
    ----------
    results : Results
        A loaded results folder (:func:`qualcode.load_results`).
    path : str or Path
        The ``.docx`` file to write (replaced if it exists; parent folders are created).
    status : {"all", "suggested", "accepted"}
        Which codings count everywhere in the report (``all``: all but the rejected ones).
    min_score : float
        Ignore codings scoring below this.
    quotes_per_code : int
        Exemplar quotes per code, and quotes per side of each hypothesis.
    language : {"fr", "en"}, optional
        Labels' language; default French when the codebook's language is ``fr``, else English.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OptionError
        An unknown status or language, a score outside [0, 1], a bad ``quotes_per_code``.
    ExportError
        The file cannot be written; nothing is left behind.

    Examples
    --------
    >>> write_report(load_results("results/"), "rapport.docx", quotes_per_code=2)  # doctest: +SKIP
    PosixPath('rapport.docx')
    """
    document = build_report(results, status=status, min_score=min_score, quotes_per_code=quotes_per_code,
                            language=language)
    return _save(path, document.save, "report")
