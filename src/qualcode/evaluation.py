"""Evaluate suggested codings against a human gold standard.

The gold file is a CSV with a ``code_id`` column and one way of locating each
coded segment: ``segment_id``; or ``document_id,start,end`` (character offsets);
or ``document_id,text`` (an exact quote).  Every segment of the gold documents
that the gold does not code counts as coded with nothing (``scope="documents"``);
with ``scope="gold"`` only the segments the gold file names are evaluated (for
corpora where every unit was coded, like LabForSims2).

Reported per code: precision, recall, F1, Cohen's κ on presence/absence, and
support; micro and macro averages; the same per theme; and, when every gold
segment has exactly one code, single-label accuracy, macro-F1 and κ of the
highest-scoring suggestion beside the majority-class baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import GoldError
from .results import segments_covering

__all__ = ["Evaluation", "evaluate", "load_gold", "score_codings"]

NO_CODE = "(none)"


@dataclass
class Evaluation:
    """All figures of one evaluation; DataFrames for notebooks, ``summary`` for reports."""

    per_code: object  # DataFrame
    per_theme: object  # DataFrame
    summary: dict
    errors: object  # DataFrame: one row per missed or wrongly added coding
    single_label: dict | None = None

    def to_dict(self) -> dict:
        return {"summary": self.summary, "single_label": self.single_label,
                "per_code": self.per_code.to_dict("records"),
                "per_theme": self.per_theme.to_dict("records")}


def _norm(text: str) -> str:
    return " ".join(str(text).replace("’", "'").split())


def load_gold(path: str | Path, segments, code_ids: set[str], keep: tuple[str, ...] = ()):
    """Read a gold CSV and resolve every row to segment ids; return a DataFrame
    with ``segment_id, code_id`` (and ``line``, and the ``keep`` columns, "" where absent),
    raising GoldError on the first bad row.  Repeated rows count once."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise GoldError("no such file", path=path)
    import csv

    records: list[tuple[int, dict]] = []  # (first line of the record in the file, row)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            previous = 1
            for row in reader:
                records.append((previous + 1, {k: (v or "") for k, v in row.items() if k}))
                previous = reader.line_num
            columns = reader.fieldnames or []
    except (csv.Error, UnicodeDecodeError) as exc:
        raise GoldError(f"cannot read gold CSV: {exc}", path=path) from None
    if "code_id" not in columns:
        raise GoldError("missing column 'code_id'", path=path, line=1)
    by_id = set(segments.segment_id)
    by_doc = {doc: frame for doc, frame in segments.groupby("document_id")}
    resolved = []
    for number, row in records:
        code = row["code_id"].strip()
        if not code:
            continue
        if code not in code_ids and code != NO_CODE:
            raise GoldError(f"unknown code {code!r}; codes are: {', '.join(sorted(code_ids))}",
                            path=path, line=number)
        extra = {name: (row.get(name) or "").strip() for name in keep}
        for segment_id in _locate(row, by_id, by_doc, path, number):
            resolved.append({"segment_id": segment_id, "code_id": code, "line": number, **extra})
    if not resolved:
        raise GoldError("gold file codes no segment", path=path)
    return pd.DataFrame(resolved).drop_duplicates(["segment_id", "code_id", *keep])


def _locate(row: dict, by_id: set, by_doc: dict, path: Path, number: int) -> list[str]:
    segment_id = (row.get("segment_id") or "").strip()
    if segment_id:
        if segment_id in by_id:
            return [segment_id]
        if not row.get("text"):
            raise GoldError(f"unknown segment {segment_id!r}", path=path, line=number)
    doc = (row.get("document_id") or "").strip()
    if not doc:
        raise GoldError("row has neither segment_id nor document_id", path=path, line=number)
    if doc not in by_doc:
        raise GoldError(f"unknown document {doc!r} (not in the results)", path=path, line=number)
    frame = by_doc[doc]
    if row.get("start", "").strip() and row.get("end", "").strip():
        try:
            start, end = int(row["start"]), int(row["end"])
        except ValueError:
            raise GoldError("start and end must be whole numbers", path=path, line=number) from None
        hits = segments_covering(frame, start, end)
        if not hits:
            raise GoldError(f"span {start}-{end} overlaps no segment of {doc}", path=path,
                            line=number)
        return hits
    text = _norm(row.get("text", ""))
    if not text:
        raise GoldError("row needs segment_id, start/end or text", path=path, line=number)
    normed = frame.text.map(_norm)
    hits = frame[normed == text]
    if hits.empty:
        hits = frame[normed.map(lambda s: len(s) > 10 and (s in text or text in s))]
    if hits.empty:
        raise GoldError(f"text not found in {doc}: «{text[:60]}»", path=path, line=number)
    return list(hits.segment_id)


def _kappa(gold: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(set(gold.tolist()) | set(pred.tolist())) < 2:
        return 1.0 if np.array_equal(gold, pred) else 0.0
    return float(cohen_kappa_score(gold, pred))


def _scores(gold: np.ndarray, pred: np.ndarray) -> dict:
    tp = int((gold & pred).sum())
    fp = int((~gold & pred).sum())
    fn = int((gold & ~pred).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"support": tp + fn, "predicted": tp + fp, "tp": tp, "fp": fp, "fn": fn,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "kappa": round(_kappa(gold, pred), 4)}


def _table(gold_matrix, pred_matrix, labels) -> tuple[list[dict], dict]:
    rows = [{"id": label, **_scores(gold_matrix[:, k], pred_matrix[:, k])}
            for k, label in enumerate(labels)]
    micro = _scores(gold_matrix.ravel(), pred_matrix.ravel())
    present = [r for r in rows if r["support"] > 0]
    macro = {m: round(float(np.mean([r[m] for r in present])), 4) if present else 0.0
             for m in ("precision", "recall", "f1", "kappa")}
    return rows, {"micro": {k: micro[k] for k in ("precision", "recall", "f1", "kappa")},
                  "macro": macro}


def _code_and_theme_tables(gold_m, pred_m, code_theme: dict[str, str]):
    """Per-code and per-theme rows and averages; a theme is present where any of its codes is."""
    codes = list(code_theme)
    code_rows, code_avg = _table(gold_m, pred_m, codes)
    themes = list(dict.fromkeys(code_theme[c] for c in codes))
    theme_of = np.array([themes.index(code_theme[c]) for c in codes])
    gold_t = np.stack([gold_m[:, theme_of == t].any(axis=1) for t in range(len(themes))], axis=1)
    pred_t = np.stack([pred_m[:, theme_of == t].any(axis=1) for t in range(len(themes))], axis=1)
    theme_rows, theme_avg = _table(gold_t, pred_t, themes)
    return code_rows, code_avg, theme_rows, theme_avg


def score_codings(gold, predicted, segment_ids, code_theme: dict[str, str]) -> dict:
    """Micro and macro precision, recall, F1 and κ of ``predicted`` against ``gold``, by code and theme.

    ``gold`` and ``predicted`` are tables with ``segment_id, code_id``; ``segment_ids`` are the
    segments scored (a segment absent from a table has no code there); ``code_theme`` maps
    each code id to its theme id, in codebook order.  Rows outside these are ignored.
    Returns ``{"codes": {"micro": …, "macro": …}, "themes": {…}}``.
    """
    index = {s: i for i, s in enumerate(segment_ids)}
    col = {c: k for k, c in enumerate(code_theme)}
    matrices = []
    for table in (gold, predicted):
        matrix = np.zeros((len(index), len(col)), dtype=bool)
        for s, c in zip(table.segment_id, table.code_id, strict=True):
            if s in index and c in col:
                matrix[index[s], col[c]] = True
        matrices.append(matrix)
    _, code_avg, _, theme_avg = _code_and_theme_tables(*matrices, code_theme)
    return {"codes": code_avg, "themes": theme_avg}


def evaluate(gold_path: str | Path, results: str | Path, *, scope: str = "documents",
             min_score: float = 0.0, table: str | Path | None = None) -> Evaluation:
    """Compare the suggestions in ``results`` (a ``qualcode code`` folder) with a gold CSV.

    With ``table``, another coded table (same format as the gold) is compared instead of
    the suggestions, on the documents both code, the folder giving the segments: two
    coders' agreement in the same figures as the machine's.
    """
    import pandas as pd

    from .results import load_results

    loaded = load_results(results)
    segments, codings = loaded.segments, loaded.codings
    code_theme = {c.id: c.theme_id for c in loaded.codebook.codes}
    gold = load_gold(gold_path, segments, set(code_theme))
    if table is not None:
        codings = load_gold(table, segments, set(code_theme)).assign(
            score=1.0, status="accepted", evidence=f"coded in {Path(table).name}")
    if scope == "gold":
        evaluated = segments[segments.segment_id.isin(gold.segment_id)]
    elif scope == "documents":
        docs = set(segments[segments.segment_id.isin(gold.segment_id)].document_id)
        if table is not None:  # the documents both coders coded
            docs &= set(segments[segments.segment_id.isin(codings.segment_id)].document_id)
        evaluated = segments[segments.document_id.isin(docs)]
    else:
        raise ValueError("scope must be 'documents' or 'gold'")
    ids = list(evaluated.segment_id)
    index = {s: i for i, s in enumerate(ids)}
    codes = list(code_theme)
    kept = codings[(codings.status != "rejected") & (codings.score >= min_score)
                   & codings.segment_id.isin(index)]
    gold_m = np.zeros((len(ids), len(codes)), dtype=bool)
    pred_m = np.zeros_like(gold_m)
    col = {c: k for k, c in enumerate(codes)}
    for s, c in zip(gold.segment_id, gold.code_id, strict=True):
        if s in index and c in col:
            gold_m[index[s], col[c]] = True
    for s, c in zip(kept.segment_id, kept.code_id, strict=True):
        if c in col:
            pred_m[index[s], col[c]] = True
    code_rows, code_avg, theme_rows, theme_avg = _code_and_theme_tables(gold_m, pred_m, code_theme)
    errors = _errors(ids, codes, gold_m, pred_m, evaluated, kept)
    summary = {"gold": str(gold_path), "results": str(results), "scope": scope,
               "compared": str(table) if table is not None else "suggestions",
               "segments": len(ids), "documents": int(evaluated.document_id.nunique()),
               "gold_codings": int(gold_m.sum()), "predicted_codings": int(pred_m.sum()),
               "codes": code_avg, "themes": theme_avg}
    single = _single_label(gold, kept, ids, index) if _is_single_label(gold, ids) else None
    per_code = pd.DataFrame(code_rows).rename(columns={"id": "code_id"})
    per_code.insert(1, "theme_id", [code_theme[c] for c in per_code.code_id])
    return Evaluation(per_code, pd.DataFrame(theme_rows).rename(columns={"id": "theme_id"}),
                      summary, errors, single)


def _errors(ids, codes, gold_m, pred_m, evaluated, kept):
    import pandas as pd

    text = dict(zip(evaluated.segment_id, evaluated.text, strict=True))
    evidence = {(s, c): e for s, c, e in zip(kept.segment_id, kept.code_id, kept.evidence,
                                             strict=True)}
    rows = []
    for i, k in zip(*np.nonzero(gold_m != pred_m), strict=True):
        s, c = ids[i], codes[k]
        rows.append({"segment_id": s, "code_id": c,
                     "error": "missed" if gold_m[i, k] else "wrongly added",
                     "gold_codes": ", ".join(codes[m] for m in np.nonzero(gold_m[i])[0]),
                     "predicted_codes": ", ".join(codes[m] for m in np.nonzero(pred_m[i])[0]),
                     "evidence": evidence.get((s, c), ""), "text": text[s]})
    return pd.DataFrame(rows, columns=["segment_id", "code_id", "error", "gold_codes",
                                       "predicted_codes", "evidence", "text"])


def _is_single_label(gold, ids) -> bool:
    counts = gold[gold.segment_id.isin(set(ids))].groupby("segment_id").size()
    return len(counts) == len(ids) and bool((counts == 1).all())


def _single_label(gold, kept, ids, index) -> dict:
    from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

    truth = dict(zip(gold.segment_id, gold.code_id, strict=True))
    top = kept.sort_values(["segment_id", "score", "code_id"], ascending=[True, False, True]) \
        .drop_duplicates("segment_id")
    best = dict(zip(top.segment_id, top.code_id, strict=True))
    y_true = [truth[s] for s in ids]
    y_pred = [best.get(s, NO_CODE) for s in ids]
    majority = max(set(y_true), key=lambda c: (y_true.count(c), c))
    return {"segments": len(ids), "accuracy": round(accuracy_score(y_true, y_pred), 4),
            "macro_f1": round(f1_score(y_true, y_pred, average="macro", zero_division=0), 4),
            "kappa": round(cohen_kappa_score(y_true, y_pred), 4),
            "majority_code": majority,
            "majority_accuracy": round(y_true.count(majority) / len(y_true), 4),
            "unassigned": sum(p == NO_CODE for p in y_pred)}
