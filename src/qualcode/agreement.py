"""Inter-coder agreement on thematic coding: percent agreement, Cohen's κ and Krippendorff's α.

Two or more coders (people, or a person and the machine) code the same units,
segments or documents.  For every code, each coder's decision on each unit is
*present* (1), *absent* (0), or *missing* when that coder did not code the unit.
Reported per code, and pooled over all unit × code decisions:

* percent agreement: among the units at least two coders coded, the share (0–100)
  on which every coder who coded the unit made the same decision;
* Cohen's κ, for exactly two coders, on the units both coded;
* Krippendorff's α, nominal, for any number of coders and with missing data,
  computed from the coincidence matrix (Krippendorff 2011, "Computing
  Krippendorff's Alpha-Reliability").

κ and α are NaN when undefined, never a guess: when no unit was coded by two
coders, or when the decisions show no variation (nobody used the code, or every
coder applied it to every unit), expected disagreement is 0 and the ratio is 0/0.
The ``krippendorff`` package raises ValueError or returns NaN there, and
``sklearn.metrics.cohen_kappa_score`` returns NaN.  Percent agreement stays
defined: coders who all left a code out agree 100 %.

Examples
--------
>>> import pandas as pd
>>> codings = pd.DataFrame({"coder": ["ana", "ana", "ben"], "segment_id": ["d#1.1", "d#1.2", "d#1.1"],
...                         "code_id": ["cost", "cost", "cost"]})
>>> result = agreement(codings, coders=["ana", "ben"])
>>> result.per_code[["code_id", "units", "percent_agreement"]]
  code_id  units  percent_agreement
0    cost      2               50.0
>>> result.disagreements
  segment_id code_id  ana  ben
0      d#1.2    cost    1    0
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import OptionError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["UNITS", "Agreement", "agreement", "cohen_kappa", "krippendorff_alpha"]

#: What a unit of coding is: one segment, or one document (a code is present when any segment has it).
UNITS = ("segment", "document")


@dataclass(frozen=True)
class Agreement:
    """Agreement between coders, per code and overall.

    ``per_code``: one row per code with ``code_id``, ``units`` (units coded by at
    least two of the coders), ``percent_agreement`` (0–100), ``cohen_kappa`` (NaN
    unless exactly two coders), ``krippendorff_alpha`` and, per coder,
    ``present_<coder>``: how many units that coder applied the code to.

    ``overall``: ``unit``, ``coders``, ``codes``, ``units``,
    ``mean_percent_agreement`` (mean over the codes), ``cohen_kappa`` and
    ``krippendorff_alpha`` pooled over all unit × code decisions.

    ``disagreements``: one row per unit and code on which the coders who coded
    the unit differ, with ``segment_id`` (or ``document_id``), ``code_id`` and one
    column per coder holding 1, 0 or <NA> (did not code the unit); in transcript
    order, then codes in ``per_code`` order, so a discussion reads each unit once.
    """

    per_code: pd.DataFrame
    overall: dict
    disagreements: pd.DataFrame


def krippendorff_alpha(reliability_data) -> float:
    """Krippendorff's α for nominal values; ``reliability_data`` is coders × units, NaN = missing.

    NaN when no unit has two values or the pairable values show no variation.

    >>> krippendorff_alpha([[1, 1, 0, 0], [1, 1, 0, 1]])
    0.5333333333333333
    """
    import numpy as np

    data = np.asarray(reliability_data, dtype=float)
    values = np.unique(data[~np.isnan(data)])
    counts = (data[:, :, np.newaxis] == values).sum(axis=0)  # n_uc: coders giving unit u value c
    pairable = counts.sum(axis=1)  # m_u
    counts, pairable = counts[pairable >= 2], pairable[pairable >= 2]
    if not len(pairable):
        return math.nan
    # o_ck = Σ_u (n_uc n_uk − [c = k] n_uc) / (m_u − 1): pairs of values within units
    weights = 1.0 / (pairable - 1)
    o = np.einsum("u,uc,uk->ck", weights, counts, counts) - np.diag(weights @ counts)
    n_c = o.sum(axis=0)
    n = n_c.sum()
    expected = n * n - (n_c**2).sum()  # n(n − 1) D_e
    if expected == 0:
        return math.nan
    observed = n - np.trace(o)  # n D_o: off-diagonal coincidences, i.e. disagreeing pairs
    return float(1.0 - (n - 1) * observed / expected)


def cohen_kappa(first, second) -> float:
    """Cohen's κ of two equally long 0/1 sequences; NaN when both use a single value (chance = 1).

    >>> cohen_kappa([1, 1, 0, 0], [1, 1, 0, 1])
    0.5
    """
    import numpy as np

    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if not len(a) or len(np.unique(np.concatenate([a, b]))) < 2:
        return math.nan
    observed = float(np.mean(a == b))
    p_a, p_b = float(a.mean()), float(b.mean())
    chance = p_a * p_b + (1 - p_a) * (1 - p_b)
    return (observed - chance) / (1 - chance)


def agreement(codings: pd.DataFrame, *, coders: Iterable, units: Any = None, unit: str = "segment",
              codes: Iterable[str] | None = None) -> Agreement:
    """Agreement between ``coders`` on every code, from their codings of the same units.

    Parameters
    ----------
    codings : DataFrame
        One row per code a coder applied to a unit: ``coder``, ``segment_id``
        (``document_id`` with ``unit="document"``) and ``code_id``.  Rows with
        ``status == "rejected"`` are ignored; a row without ``code_id`` marks a
        unit as coded with nothing.
    coders : list
        At least two coder ids, each with codings (or named in ``units``).
    units : DataFrame or dict, optional
        Which units each coder actually coded: a ``{coder: unit ids}`` dict or a
        frame with ``coder`` and ``segment_id``/``document_id``.  A unit a coder did
        not code is missing data, not "coded with nothing".  By default every unit
        that any of the coders coded counts as coded by all of them.
    unit : {"segment", "document"}
        With ``"document"``, a code is present in a document when any of its segments has it.
    codes : list of str, optional
        Codes to report, in this order (a code nobody used gets NaN κ and α).
        Default: every code the coders applied, sorted.
    """
    if unit not in UNITS:
        raise OptionError(f"unknown unit {unit!r}; choose from: {', '.join(UNITS)}")
    key = f"{unit}_id"
    coders = _coders(coders)
    missing = [c for c in ("coder", key, "code_id") if c not in codings.columns]
    if missing:
        raise OptionError(f"codings lack column(s) {', '.join(missing)}; "
                          f"it has: {', '.join(map(str, codings.columns))}")
    rows = codings
    if "status" in rows.columns:
        rows = rows[rows.status != "rejected"]
    rows = rows[rows.coder.isin(coders)].dropna(subset=[key])
    declared = _declared_units(units, coders, key)
    known = sorted({*map(str, codings.coder.dropna().unique()), *map(str, declared or {})})
    absent = [c for c in coders if c not in set(rows.coder) and c not in (declared or {})]
    if absent:
        raise OptionError(f"no codings by coder(s) {', '.join(map(repr, absent))}; "
                          f"known coders: {', '.join(known)}")
    coded = declared or dict.fromkeys(coders, frozenset(rows[key].dropna()))
    _check_within(rows, coded, key)
    applied = rows.dropna(subset=["code_id"])
    codes = list(dict.fromkeys(codes)) if codes is not None else sorted(set(applied.code_id))
    if not codes:
        raise OptionError("no codes to compare: `codes` is empty")
    unit_ids = sorted(set().union(*coded.values()), key=_natural)
    matrix = _decisions(applied[["coder", key, "code_id"]], coders, coded, unit_ids, codes)
    return Agreement(_per_code(matrix, coders, codes), _overall(matrix, coders, codes, unit),
                     _disagreements(matrix, coders, codes, unit_ids, key))


def _decisions(applied: pd.DataFrame, coders: list, coded: dict, unit_ids: list, codes: list) -> np.ndarray:
    """coder × unit × code array: 1 applied, 0 coded without it, NaN unit not coded by that coder."""
    import numpy as np

    matrix = np.full((len(coders), len(unit_ids), len(codes)), np.nan)
    row_of, col_of = {u: i for i, u in enumerate(unit_ids)}, {c: k for k, c in enumerate(codes)}
    for j, coder in enumerate(coders):
        matrix[j, [row_of[u] for u in coded[coder]], :] = 0.0
    for coder, unit_id, code in applied.itertuples(index=False):
        if code in col_of:
            matrix[coders.index(coder), row_of[unit_id], col_of[code]] = 1.0
    return matrix


def _coders(coders) -> list:
    coders = [coders] if isinstance(coders, str) else list(coders)
    if len(coders) < 2 or len(set(coders)) < len(coders):
        raise OptionError(f"coders must list at least two different coder ids; got {coders!r}")
    return coders


def _declared_units(units, coders: list, key: str) -> dict | None:
    """``units`` as ``{coder: set of unit ids}``, or None when not given."""
    if units is None:
        return None
    if not isinstance(units, Mapping):
        if "coder" not in units.columns or key not in units.columns:
            raise OptionError(f"units needs columns coder and {key}; "
                              f"it has: {', '.join(map(str, units.columns))}")
        units = {c: frame[key] for c, frame in units.groupby("coder")}
    lacking = [c for c in coders if c not in units]
    if lacking:
        raise OptionError(f"units does not say which units {', '.join(map(repr, lacking))} coded; "
                          f"it names: {', '.join(map(str, units))}")
    return {c: {u for u in units[c] if isinstance(u, str) or not _isnan(u)} for c in coders}


def _check_within(rows: pd.DataFrame, coded: dict, key: str) -> None:
    for coder, frame in rows.groupby("coder"):
        outside = sorted(set(frame[key].dropna()) - coded[coder], key=_natural)
        if outside:
            raise OptionError(f"coder {coder!r} coded {len(outside)} unit(s) that units does not list "
                              f"for them, e.g. {', '.join(map(str, outside[:3]))}")


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _natural(unit_id) -> list:
    """Sort key putting ``d#2.1`` before ``d#10.1``: digit runs compare as numbers."""
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", str(unit_id)))]


def _percent(decisions: np.ndarray) -> tuple[int, float]:
    """Units coded by ≥ 2 coders and the share (0–100) on which they all agree; decisions: coders × units."""
    import numpy as np

    present = ~np.isnan(decisions)
    compared = present.sum(axis=0) >= 2
    if not compared.any():
        return 0, math.nan
    ones = np.nansum(decisions, axis=0)[compared]
    unanimous = (ones == 0) | (ones == present.sum(axis=0)[compared])
    return int(compared.sum()), 100.0 * float(unanimous.mean())


def _kappa(decisions: np.ndarray) -> float:
    import numpy as np

    if len(decisions) != 2:
        return math.nan
    both = ~np.isnan(decisions).any(axis=0)
    return cohen_kappa(decisions[0, both], decisions[1, both])


def _per_code(matrix: np.ndarray, coders: list, codes: list) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    rows = []
    for k, code in enumerate(codes):
        decisions = matrix[:, :, k]
        units, percent = _percent(decisions)
        rows.append({"code_id": code, "units": units, "percent_agreement": percent,
                     "cohen_kappa": _kappa(decisions), "krippendorff_alpha": krippendorff_alpha(decisions),
                     **{f"present_{c}": int(np.nansum(decisions[j])) for j, c in enumerate(coders)}})
    return pd.DataFrame(rows)


def _overall(matrix: np.ndarray, coders: list, codes: list, unit: str) -> dict:
    import numpy as np

    pooled = matrix.reshape(len(coders), -1)  # every unit × code decision is one reliability unit
    percents = [_percent(matrix[:, :, k])[1] for k in range(len(codes))]
    finite = [p for p in percents if not math.isnan(p)]
    return {"unit": unit, "coders": list(coders), "codes": len(codes),
            "units": int(((~np.isnan(matrix[:, :, 0])).sum(axis=0) >= 2).sum()),
            "mean_percent_agreement": float(np.mean(finite)) if finite else math.nan,
            "cohen_kappa": _kappa(pooled), "krippendorff_alpha": krippendorff_alpha(pooled)}


def _disagreements(matrix: np.ndarray, coders: list, codes: list, unit_ids: list, key: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    present = ~np.isnan(matrix)
    ones = np.nansum(matrix, axis=0)
    split = (present.sum(axis=0) >= 2) & (ones > 0) & (ones < present.sum(axis=0))  # unit × code
    units, ks = np.nonzero(split)  # row-major: transcript order, then code order
    frame = pd.DataFrame({key: [unit_ids[i] for i in units], "code_id": [codes[k] for k in ks]})
    for j, coder in enumerate(coders):
        frame[coder] = pd.array(matrix[j, units, ks], dtype="Float64").astype("Int64")
    return frame
