"""Coding matrices: codes or themes crossed with segments, documents, participants and attributes.

The qualcode equivalent of MAXQDA's Code Matrix Browser and NVivo's matrix coding
queries.  Every function takes a :class:`~qualcode.results.Results` and the same
filters as :func:`select_codings`, and returns DataFrames whose columns are codes
(or themes) in codebook order.  Two kinds of filter apply:

* ``status``, ``min_score``, ``themes`` and ``codes`` select **codings** (rejected
  codings never count); ``themes``/``codes`` also restrict the matrix columns;
* ``where`` selects **segments** by participant attribute: it restricts the rows,
  the units of co-occurrence and the word totals behind coverage.

With ``level="theme"`` codes roll up to their theme: a segment coded with two
codes of one theme counts once for that theme.

Examples
--------
>>> results = load_results("results/")                                   # doctest: +SKIP
>>> code_matrix(results, by="role", measure="participants", status="accepted")  # doctest: +SKIP
>>> counts, jaccard = cooccurrence(results, scope="turn", level="theme")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import OptionError
from .results import STATUSES, Results

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["code_matrix", "cooccurrence", "crosstab", "segment_code_matrix", "select_codings"]

LEVELS = ("code", "theme")
VALUES = ("presence", "score")
MEASURES = ("segments", "coverage", "presence", "participants", "words")
NORMALIZE = (None, "row", "column")
SCOPES = ("segment", "turn", "window")
TOTAL = "Total"

Where = dict[str, Any]


# --------------------------------------------------------------------------- validation

def _check(kind: str, values: Iterable, valid: Iterable) -> None:
    """Raise ValueError naming every value not in ``valid`` and listing the valid ones."""
    valid = list(valid)
    bad = [v for v in values if v not in valid]
    if bad:
        raise OptionError(f"unknown {kind} {', '.join(map(repr, bad))}; "
                         f"choose from: {', '.join(map(str, valid))}")


def _as_list(value: str | Iterable[str] | None) -> list | None:
    if value is None:
        return None
    return [value] if isinstance(value, str | int | float) else list(value)


def _segments(results: Results, where: Where | None) -> pd.DataFrame:
    """The segments a matrix is about: all of them, or those of participants matching ``where``."""
    segments = results.segments
    if not where:
        return segments
    _check("attribute", where, [*results.attributes, "participant_id", "document_id"])
    mask = segments.segment_id.notna()
    for attribute, wanted in where.items():
        column = segments[attribute]
        wanted = _as_list(wanted)
        as_text = column.astype(str)
        present = set(as_text)
        known = sorted(column.dropna().unique().tolist(), key=str)
        _check(attribute, [v for v in wanted if str(v) not in present], known)
        mask &= column.isin(wanted) | as_text.isin([str(v) for v in wanted])
    return segments[mask]


def _columns(results: Results, level: str, themes: list | None, codes: list | None) -> list[str]:
    """Matrix columns: the selected codes, or their themes, in codebook order."""
    _check("level", [level], LEVELS)
    chosen = [c for c in results.codebook.codes
              if (themes is None or c.theme_id in themes) and (codes is None or c.id in codes)]
    ids = [c.id if level == "code" else c.theme_id for c in chosen]
    return list(dict.fromkeys(ids))


# --------------------------------------------------------------------------- selection

def select_codings(results: Results, *, status: str = "all", min_score: float = 0.0,
                   themes: str | Iterable[str] | None = None, codes: str | Iterable[str] | None = None,
                   where: Where | None = None) -> pd.DataFrame:
    """Codings that pass the filters, joined with their segment and participant columns.

    Parameters
    ----------
    results : Results
        A loaded results folder (:func:`qualcode.load_results`).
    status : {"all", "suggested", "accepted"}
        ``all`` keeps every coding except the ``rejected`` ones.
    min_score : float
        Keep codings whose score is at least this (0 to 1).
    themes, codes : str or list of str, optional
        Keep codings of these themes / these codes (ids from the codebook).
    where : dict, optional
        Participant attribute → value or list of values, e.g. ``{"role": ["CGS", "DG"]}``;
        ``participant_id`` and ``document_id`` may be used too.

    Returns
    -------
    DataFrame
        One row per coding: the columns of ``codings.csv`` (``theme_id`` taken from the
        codebook) followed by the segment's (text, words, participant attributes…).

    Raises
    ------
    ValueError
        An unknown status, theme, code, attribute or attribute value, or a score outside [0, 1].

    Examples
    --------
    >>> select_codings(results, status="accepted", where={"role": "CGS"})  # doctest: +SKIP
    """
    _check("status", [status], STATUSES)
    if isinstance(min_score, bool) or not isinstance(min_score, int | float) or not 0 <= min_score <= 1:
        raise OptionError(f"min_score must be a number between 0 and 1, got {min_score!r}")
    themes, codes = _as_list(themes), _as_list(codes)
    book = results.codebook
    if themes is not None:
        _check("theme", themes, [t.id for t in book.themes])
    if codes is not None:
        _check("code", codes, [c.id for c in book.codes])
    segments = _segments(results, where)
    codings = results.coded_segments()
    theme_of = {c.id: c.theme_id for c in book.codes}
    codings["theme_id"] = codings.code_id.map(theme_of).fillna(codings.theme_id)
    keep = (codings.status == status) if status != "all" else (codings.status != "rejected")
    keep &= (codings.score >= min_score) & codings.segment_id.isin(segments.segment_id)
    if themes is not None:
        keep &= codings.theme_id.isin(themes)
    if codes is not None:
        keep &= codings.code_id.isin(codes)
    return codings[keep].reset_index(drop=True)


def _selection(results: Results, level: str, filters: dict) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Segments in scope, selected codings with their code or theme as ``key``, matrix columns."""
    columns = _columns(results, level, _as_list(filters.get("themes")), _as_list(filters.get("codes")))
    selected = select_codings(results, **filters)
    selected["key"] = selected[f"{level}_id"]
    return _segments(results, filters.get("where")), selected, columns


def _grid(values: pd.Series, rows: list, columns: list[str], name: str, level: str) -> pd.DataFrame:
    """Spread a (row, key)-indexed series into a full grid with exactly these rows and columns."""
    import pandas as pd

    fill = 0.0 if values.dtype.kind == "f" else 0
    if values.empty:
        grid = pd.DataFrame(fill, index=rows, columns=columns)
    else:
        grid = values.unstack(fill_value=fill).reindex(index=rows, columns=columns, fill_value=fill)
    grid.index = pd.Index(list(grid.index), name=name)
    grid.columns = pd.Index(list(grid.columns), name=f"{level}_id")
    return grid


# --------------------------------------------------------------------------- matrices

def segment_code_matrix(results: Results, *, value: str = "presence", level: str = "code",
                        **filters: Any) -> pd.DataFrame:
    """One row per segment, one column per code (or theme): presence or best score.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    value : {"presence", "score"}
        ``presence``: 1 when the segment is coded, else 0; ``score``: the highest score
        (over the theme's codes with ``level="theme"``), 0.0 when not coded.
    level : {"code", "theme"}
        Columns are codes, or themes (codes rolled up).
    **filters
        Any option of :func:`select_codings`.

    Returns
    -------
    DataFrame
        Index ``segment_id`` (every segment in scope, in file order), columns in codebook order.

    Examples
    --------
    >>> segment_code_matrix(results, level="theme", status="accepted").sum()  # doctest: +SKIP
    """
    _check("value", [value], VALUES)
    segments, selected, columns = _selection(results, level, filters)
    by_cell = selected.groupby(["segment_id", "key"])
    values = by_cell.score.max().astype("float64") if value == "score" else by_cell.size().clip(upper=1)
    return _grid(values, list(segments.segment_id), columns, "segment_id", level)


def _group_column(results: Results, by: str) -> str:
    fixed = {"document": "document_id", "participant": "participant_id"}
    _check("grouping", [by], [*fixed, *results.attributes])
    return fixed.get(by, by)


def code_matrix(results: Results, *, by: str = "document", measure: str = "segments",
                level: str = "code", **filters: Any) -> pd.DataFrame:
    """Groups (documents, participants or attribute values) × codes (or themes).

    Parameters
    ----------
    results : Results
        A loaded results folder.
    by : str
        ``"document"``, ``"participant"`` or a participant attribute (``"role"``…).
    measure : {"segments", "coverage", "presence", "participants", "words"}
        ``segments``: distinct coded segments; ``words``: their words; ``coverage``: coded
        words as a percentage of all the group's words (1 decimal); ``presence``: 1 if the
        group has any coded segment; ``participants``: distinct participants coded.
    level : {"code", "theme"}
        Columns are codes, or themes (a segment counts once per theme).
    **filters
        Any option of :func:`select_codings`.

    Returns
    -------
    DataFrame
        One row per group present in the segments in scope (sorted, groups without a value
        left out), columns in codebook order.

    Examples
    --------
    >>> code_matrix(results, by="role", measure="coverage", level="theme")  # doctest: +SKIP
    """
    group = _group_column(results, by)
    _check("measure", [measure], MEASURES)
    segments, selected, columns = _selection(results, level, filters)
    rows = sorted(segments[group].dropna().unique().tolist())
    pairs = selected.drop_duplicates(["segment_id", "key"])  # a theme counts a segment once
    by_cell = pairs.groupby([group, "key"])
    if measure in ("segments", "presence"):
        values = by_cell.size()
    elif measure == "participants":
        values = by_cell.participant_id.nunique()
    else:
        values = by_cell.words.sum()
    grid = _grid(values.astype("int64"), rows, columns, group, level)
    if measure == "presence":
        grid = (grid > 0).astype("int64")
    elif measure == "coverage":
        totals = segments.groupby(group).words.sum().reindex(rows)
        grid = (grid.div(totals, axis=0) * 100).fillna(0.0).round(1)
    return grid


def _counts(segments: pd.DataFrame, selected: pd.DataFrame, attribute: str, columns: list[str],
            level: str, unit: str) -> pd.DataFrame:
    """Distinct ``unit`` counts per group × key, with Total row and column (distinct over unions)."""
    rows = sorted(segments[attribute].dropna().unique().tolist())
    pairs = selected[selected.key.isin(columns)]
    grid = _grid(pairs.groupby([attribute, "key"])[unit].nunique(), rows, columns, attribute, level)
    grid[TOTAL] = pairs.groupby(attribute)[unit].nunique().reindex(rows, fill_value=0)
    totals = pairs.groupby("key")[unit].nunique().reindex(columns, fill_value=0).tolist()
    grid.loc[TOTAL] = [*totals, pairs[unit].nunique()]
    return grid.astype("int64")


def _percent(counts: pd.DataFrame, normalize: str) -> pd.DataFrame:
    if normalize == "row":
        shares = counts.div(counts[TOTAL], axis=0)
    else:
        shares = counts.div(counts.loc[TOTAL], axis=1)
    return (shares * 100).fillna(0.0).round(1)


def crosstab(results: Results, attribute: str, *, level: str = "code", normalize: str | None = None,
             **filters: Any) -> pd.DataFrame:
    """Segment and participant counts for each value of a participant attribute × code (or theme).

    Every cell counts distinct units: segments coded with the code, or participants with
    at least one such segment.  The ``Total`` column counts units coded with *any* of the
    columns' codes (a segment with two codes counts once), the ``Total`` row units of any
    group, and the corner both; so row percentages of a group may add up to more than 100.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    attribute : str
        A participant attribute: ``role``, ``establishment``, ``establishment_type``…
    level : {"code", "theme"}
        Columns are codes, or themes (codes rolled up).
    normalize : {None, "row", "column"}
        ``row``: each count as a percentage of its row's ``Total``; ``column``: of its
        column's ``Total``; 1 decimal, 0.0 where the total is 0.
    **filters
        Any option of :func:`select_codings`.

    Returns
    -------
    DataFrame
        Index: the attribute's values (sorted) then ``Total``; columns: a MultiIndex
        ``(measure, code)`` with measures ``segments`` and ``participants``.

    Examples
    --------
    >>> crosstab(results, "role", level="theme", normalize="column")  # doctest: +SKIP
    """
    import pandas as pd

    _check("attribute", [attribute], results.attributes)
    _check("normalize", [normalize], NORMALIZE)
    segments, selected, columns = _selection(results, level, filters)
    blocks = {unit: _counts(segments, selected, attribute, columns, level, f"{unit[:-1]}_id")
              for unit in ("segments", "participants")}
    if normalize is not None:
        blocks = {unit: _percent(block, normalize) for unit, block in blocks.items()}
    table = pd.concat(blocks, axis=1, names=["measure", f"{level}_id"])
    table.index = pd.Index(list(table.index), name=attribute)
    return table


# --------------------------------------------------------------------------- co-occurrence

def _units(presence: pd.DataFrame, segments: pd.DataFrame, scope: str, window: int) -> pd.DataFrame:
    """0/1 rows per unit of co-occurrence (segment, turn, or window around each segment)."""
    if scope == "segment":
        return presence
    if scope == "turn":
        turns = segments.set_index("segment_id")[["document_id", "turn_index"]]
        return presence.join(turns).groupby(["document_id", "turn_index"]).max()
    import pandas as pd

    ordered = segments.sort_values(["document_id", "start"], kind="stable")
    windows = [presence.loc[doc.segment_id].rolling(2 * window + 1, center=True, min_periods=1).max()
               for _, doc in ordered.groupby("document_id", sort=False)]
    return pd.concat(windows) if windows else presence


def cooccurrence(results: Results, *, scope: str = "segment", window: int = 1, level: str = "code",
                 **filters: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Code × code (or theme × theme) co-occurrence counts and Jaccard coefficients.

    Parameters
    ----------
    results : Results
        A loaded results folder.
    scope : {"segment", "turn", "window"}
        The unit two codes must share: the same segment; the same turn (document and
        ``turn_index``); or, for ``window``, the window of each segment together with the
        ``window`` segments before and after it in its document (ordered by start offset).
    window : int
        Half-width of the window, in segments, for ``scope="window"`` (0 = segment scope).
    level : {"code", "theme"}
        Codes, or themes (codes rolled up).
    **filters
        Any option of :func:`select_codings`; ``where`` restricts the segments forming units.

    Returns
    -------
    counts : DataFrame
        Symmetric; cell (A, B) = units coded with both A and B; diagonal = units coded with A.
    jaccard : DataFrame
        |A∩B| / |A∪B| on the same units; 0.0 where neither occurs; diagonal 1.0.

    Examples
    --------
    >>> counts, jaccard = cooccurrence(results, scope="window", window=2)  # doctest: +SKIP
    """
    import numpy as np
    import pandas as pd

    _check("scope", [scope], SCOPES)
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        raise OptionError(f"window must be a whole number of segments >= 0, got {window!r}")
    presence = segment_code_matrix(results, level=level, **filters)
    segments = _segments(results, filters.get("where"))
    units = _units(presence, segments, scope, window).to_numpy(dtype=bool).astype("int64")
    both = units.T @ units
    alone = np.diag(both)
    union = alone[:, None] + alone[None, :] - both
    jaccard = np.divide(both, union, out=np.zeros(both.shape), where=union > 0)
    np.fill_diagonal(jaccard, 1.0)
    labels = pd.Index(presence.columns, name=f"{level}_id")
    return (pd.DataFrame(both, index=labels, columns=labels),
            pd.DataFrame(jaccard, index=labels, columns=labels))
