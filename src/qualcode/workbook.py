"""Excel workbook and CSV tables of a results folder: one table per sheet, ready for analysis.

:func:`export_tables` computes the tables once; :func:`write_workbook` writes them
as sheets of one ``.xlsx`` file (bold shaded header, frozen header row and first
column of matrices, autofilter, capped column widths, wrapped long text) and
:func:`export_csv` as one CSV each.  Every table rests on the same codings:
``status`` and ``min_score`` as in :func:`qualcode.matrices.select_codings`.

Sheets (and CSV names), in order::

    codings              one row per coding, with provenance and its segment
    segments             every participant segment with participant attributes
    documents            one row per document: file, format, counts
    codebook             one row per code: definition, criteria, frequencies
    themes               one row per theme: frequencies
    code_x_document      coded segments per document × code
    role_x_code          segments and participants per role × code, with totals
    participant_x_code   coded segments per participant × code
    cooccurrence         code × code: segments coded with both
    jaccard              code × code: Jaccard coefficient of the same
    hypotheses           one row per hypothesis: verdict, counts, rule
    hypothesis_evidence  every supporting / contradicting segment; quote_rank for the quoted ones

``role_x_code`` needs a ``role`` participant attribute, the hypothesis sheets
hypotheses in the codebook; otherwise they are left out.

Examples
--------
>>> results = load_results("results/")                                 # doctest: +SKIP
>>> write_workbook(results, "results/coding.xlsx", status="accepted")  # doctest: +SKIP
>>> export_tables(results)["participant_x_code"].head()                # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ExportError
from .hypotheses import hypotheses_frame, hypothesis_support
from .matrices import code_matrix, cooccurrence, crosstab, select_codings
from .outputs import atomic_write, write_tables
from .results import Results

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["code_frequencies", "export_csv", "export_tables", "theme_frequencies", "write_workbook"]

#: Tables whose first column labels the rows: first column frozen too.
MATRICES = ("code_x_document", "role_x_code", "participant_x_code", "cooccurrence", "jaccard")
HEADER_FILL = "D9E2F3"
MAX_WIDTH = 60  # characters; longer text wraps
MIN_WIDTH = 8


# --------------------------------------------------------------------------- tables

def _frequencies(selected: pd.DataFrame, key: str, total_segments: int) -> pd.DataFrame:
    import pandas as pd

    grouped = selected.groupby(key)
    stats = pd.DataFrame({"segments": grouped.segment_id.nunique(),
                          "participants": grouped.participant_id.nunique(),
                          "documents": grouped.document_id.nunique()})
    stats.insert(1, "percent_segments", (stats.segments / max(total_segments, 1) * 100).round(1))
    return stats


def code_frequencies(results: Results, *, status: str = "all", min_score: float = 0.0) -> pd.DataFrame:
    """One row per code in codebook order: its codebook entry, then segments, participants, documents.

    ``percent_segments`` is the share of all segments of the corpus coded with the code
    (1 decimal); ``mean_score`` the mean score of its codings (NaN when none).

    Examples
    --------
    >>> code_frequencies(results, status="accepted")[["code_id", "segments"]]  # doctest: +SKIP
    """
    selected = select_codings(results, status=status, min_score=min_score)
    stats = _frequencies(selected, "code_id", len(results.segments))
    stats["mean_score"] = selected.groupby("code_id").score.mean()
    frame = results.codebook.codes_frame().set_index("code_id", drop=False)
    frame = frame.join(stats)
    counts = ["segments", "percent_segments", "participants", "documents"]
    frame[counts] = frame[counts].fillna(0)
    return frame.astype({c: "int64" for c in counts if c != "percent_segments"}).reset_index(drop=True)


def theme_frequencies(results: Results, *, status: str = "all", min_score: float = 0.0) -> pd.DataFrame:
    """One row per theme in codebook order: codes, then distinct segments, participants, documents.

    A segment coded with two codes of one theme counts once for the theme.

    Examples
    --------
    >>> theme_frequencies(results)[["theme_id", "segments", "participants"]]  # doctest: +SKIP
    """
    import pandas as pd

    selected = select_codings(results, status=status, min_score=min_score)
    stats = _frequencies(selected, "theme_id", len(results.segments))
    book = results.codebook
    frame = pd.DataFrame([{"theme_id": t.id, "theme": t.label, "definition": " ".join(t.definition.split()),
                           "codes": sum(c.theme_id == t.id for c in book.codes)} for t in book.themes])
    frame = frame.set_index("theme_id", drop=False).join(stats)
    counts = ["segments", "percent_segments", "participants", "documents"]
    frame[counts] = frame[counts].fillna(0)
    return frame.astype({c: "int64" for c in counts if c != "percent_segments"}).reset_index(drop=True)


def _plain(matrix: pd.DataFrame) -> pd.DataFrame:
    """A matrix as a flat table: its row labels as the first column, plain column names."""
    return matrix.rename_axis(columns=None).reset_index()


def _flatten(table: pd.DataFrame) -> pd.DataFrame:
    """A crosstab's (measure, code) columns as ``measure:code``, its index as the first column."""
    flat = table.copy()
    flat.columns = [f"{measure}:{code}" for measure, code in flat.columns]
    return flat.reset_index()


def _evidence(support_list) -> pd.DataFrame:
    """Every evidence segment of every hypothesis, with the rank of those quoted."""
    import pandas as pd

    parts = []
    for s in support_list:
        for side, frame, quotes in (("supporting", s.supporting, s.quotes_for),
                                    ("contradicting", s.contradicting, s.quotes_against)):
            rank = dict(zip(quotes.segment_id, quotes["rank"].astype(float), strict=True))
            part = frame.assign(quote_rank=frame.segment_id.map(rank).astype(float))
            part.insert(0, "side", side)
            part.insert(0, "hypothesis_id", s.hypothesis_id)
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def export_tables(results: Results, *, status: str = "all", min_score: float = 0.0,
                  quotes: int = 5) -> dict[str, pd.DataFrame]:
    """The tables of the workbook, by sheet name, in sheet order (see the module docstring).

    Parameters
    ----------
    results : Results
        A loaded results folder.
    status : {"all", "suggested", "accepted"}
        Which codings count (``all``: every coding but the rejected ones).
    min_score : float
        Ignore codings scoring below this.
    quotes : int
        Quotes ranked per hypothesis and side in ``hypothesis_evidence``.

    Examples
    --------
    >>> list(export_tables(results))[:3]                                 # doctest: +SKIP
    ['codings', 'segments', 'documents']
    """
    filters = {"status": status, "min_score": min_score}
    tables = {"codings": select_codings(results, **filters),
              "segments": results.segments.reset_index(drop=True),
              "documents": results.documents.reset_index(drop=True),
              "codebook": code_frequencies(results, **filters),
              "themes": theme_frequencies(results, **filters),
              "code_x_document": _plain(code_matrix(results, by="document", **filters))}
    if "role" in results.attributes:
        tables["role_x_code"] = _flatten(crosstab(results, "role", **filters))
    tables["participant_x_code"] = _plain(code_matrix(results, by="participant", **filters))
    counts, jaccard = cooccurrence(results, **filters)
    tables["cooccurrence"], tables["jaccard"] = _plain(counts), _plain(jaccard)
    if results.codebook.hypotheses:
        support = hypothesis_support(results, status=status, min_score=min_score, quotes=quotes)
        summary = hypotheses_frame(support)
        summary["rule"] = [s.rule for s in support]
        summary["basis"] = [s.basis for s in support]
        tables["hypotheses"] = summary
        tables["hypothesis_evidence"] = _evidence(support)
    return tables


# --------------------------------------------------------------------------- writing

def _cell_value(value):
    """A value openpyxl stores as is: None for missing, Python scalars, no illegal characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value) or None
    try:
        import pandas as pd

        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def _fill(sheet, frame: pd.DataFrame) -> None:
    sheet.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_cell_value(v) for v in row])
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            if cell.data_type == "f":  # a text starting with "=" is text, not a formula
                cell.data_type = "s"


def _width(frame: pd.DataFrame, column: str) -> int:
    sample = frame[column].head(500).dropna().astype(str)
    longest = max([len(column), *(max(map(len, v.split("\n"))) for v in sample)])
    return min(max(longest + 2, MIN_WIDTH), MAX_WIDTH)


def _style(sheet, frame: pd.DataFrame, matrix: bool) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(frame.columns, 1):
        letter = get_column_letter(index)
        width = _width(frame, column)
        sheet.column_dimensions[letter].width = width
        cells = sheet.iter_rows(min_row=2, min_col=index, max_col=index)
        if frame[column].dtype.kind == "f":
            for (cell,) in cells:
                cell.number_format = "0.0##"
        elif width == MAX_WIDTH:
            for (cell,) in cells:
                cell.alignment = wrap
    sheet.freeze_panes = "B2" if matrix else "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _workbook(tables: dict[str, pd.DataFrame]):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, frame in tables.items():
        sheet = book.create_sheet(name[:31])
        _fill(sheet, frame)
        _style(sheet, frame, name in MATRICES)
    return book


def _save(path: str | Path, save, what: str) -> Path:
    """``save(tmp)`` then move into place; OS errors become ExportError naming the file."""
    try:
        return atomic_write(path, save)
    except OSError as exc:
        raise ExportError(f"cannot write the {what}: {exc.strerror or exc}", path=path) from None


def write_workbook(results: Results, path: str | Path, *, status: str = "all",
                   min_score: float = 0.0) -> Path:
    """Write every table of :func:`export_tables` as a sheet of one Excel workbook, atomically.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    path : str or Path
        The ``.xlsx`` file to write (replaced if it exists; parent folders are created).
    status, min_score
        Which codings count, as in :func:`qualcode.matrices.select_codings`.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OptionError
        An unknown status or a score outside [0, 1].
    ExportError
        The file cannot be written; nothing is left behind.

    Examples
    --------
    >>> write_workbook(results, "coding.xlsx")                                # doctest: +SKIP
    >>> pd.read_excel("coding.xlsx", sheet_name=None)["participant_x_code"]   # doctest: +SKIP
    """
    book = _workbook(export_tables(results, status=status, min_score=min_score))
    return _save(path, book.save, "workbook")


def export_csv(results: Results, folder: str | Path, *, status: str = "all",
               min_score: float = 0.0) -> list[Path]:
    """Write the tables of :func:`export_tables` as ``<sheet>.csv`` files in ``folder``, all or none.

    The results folder itself is refused: ``segments.csv`` and ``codings.csv`` there are
    the run's own outputs and must not be replaced by filtered copies.

    Examples
    --------
    >>> export_csv(results, "tables/", status="accepted")[:2]   # doctest: +SKIP
    [PosixPath('tables/codings.csv'), PosixPath('tables/segments.csv')]
    """
    folder = Path(folder)
    if folder.resolve() == Path(results.folder).resolve():
        raise ExportError("choose another folder: the CSV tables would replace the results' own "
                          "segments.csv and codings.csv", path=folder)
    tables = export_tables(results, status=status, min_score=min_score)
    return write_tables(folder, {f"{name}.csv": frame for name, frame in tables.items()})
