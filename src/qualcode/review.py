"""Human review of machine suggestions: the queue, bulk and spreadsheet paths, and exports.

A suggestion becomes a finding only when a person accepts it.  Decisions go to
the project store (:mod:`qualcode.store`); ``codings.csv`` is then rewritten as an
export of the store, so every report sees the human decisions.

Examples
--------
>>> queue = review_queue("results/", coder="alice", order="confidence")   # doctest: +SKIP
>>> accept_above("results/", 0.9, coder="alice")                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import OptionError, ResultsError
from .store import ACTIONS, ProjectStore, StoreError

__all__ = ["MACHINE", "ORDERS", "QUEUE_COLUMNS", "accept_above", "apply_decisions", "coder_codings",
           "export_queue", "import_decisions", "review_queue"]

ORDERS = ("confidence", "uncertainty", "code", "document")
QUEUE_COLUMNS = ["segment_id", "code_id", "score", "method", "speaker", "text", "evidence",
                 "decision", "new_code_id", "memo"]


def _store(folder: str | Path) -> ProjectStore:
    folder = Path(folder)
    if not (folder / "project.sqlite").is_file():
        raise ResultsError("no project store here: run `qualcode code … --out` first", path=folder)
    return ProjectStore(folder)


def apply_decisions(folder: str | Path, *, write: bool = True, segments=None, codebook=None,
                    suggestions=None) -> object:
    """The codings of ``folder``: latest suggestions with the human decisions applied.

    Rewrites ``codings.csv`` from the store unless ``write`` is false.  ``segments``,
    ``codebook`` and ``suggestions`` (the latest run's) spare reading them back when the
    caller has them at hand, as ``qualcode code`` has right after recording a run.
    """
    from .outputs import write_tables

    if segments is None or codebook is None:
        from .results import load_results

        results = load_results(folder)
        segments, codebook = results.segments, results.codebook
    with _store(folder) as store:
        effective = store.effective_codings(store.suggestions() if suggestions is None else suggestions)
    human = effective.document_id.isna()
    if human.any():  # codes added by a person carry no machine provenance
        documents = dict(zip(segments.segment_id, segments.document_id, strict=True))
        themes = {c.id: c.theme_id for c in codebook.codes}
        effective.loc[human, "document_id"] = effective.loc[human, "segment_id"].map(documents)
        effective.loc[human, "theme_id"] = effective.loc[human, "code_id"].map(themes)
        effective.loc[human, ["rule_score", "similarity"]] = 0.0
        effective.loc[human, ["matched", "nearest_exemplar"]] = ""
        effective.loc[human, "negated"] = False
    effective = effective.reset_index(drop=True)
    if write:
        write_tables(folder, {"codings.csv": effective})
    return effective


def review_queue(folder: str | Path, *, coder: str, order: str = "confidence",
                 code: str | None = None):
    """Suggestions this coder has not decided yet, with the segment and its context.

    ``order``: ``confidence`` (lowest score first: where the machine is least
    sure), ``uncertainty`` (active learning: segments where a classifier trained
    on the decisions so far is least sure first), ``code`` (codebook order) or
    ``document`` (reading order).
    """
    from .results import load_results

    if order not in ORDERS:
        raise OptionError(f"unknown order {order!r}; choose from: {', '.join(ORDERS)}")
    results = load_results(folder)
    with _store(folder) as store:
        suggestions = store.suggestions()
        decided = store.decisions(coder)
    if suggestions.empty:
        return suggestions
    codes = [c.id for c in results.codebook.codes]
    if code is not None and code not in codes:
        raise OptionError(f"unknown code {code!r}; choose from: {', '.join(codes)}")
    # Memos and decisions made on text that has since changed leave the item in the queue.
    final = decided[(decided.action != "memo") & ~decided.stale]
    done = set(zip(final.segment_id, final.code_id, strict=True))
    pending = suggestions[[(s, c) not in done for s, c in zip(suggestions.segment_id,
                                                               suggestions.code_id, strict=True)]]
    if code is not None:
        pending = pending[pending.code_id == code]
    context = results.segments.set_index("segment_id")
    pending = pending.join(context[["speaker", "participant_id", "turn_index", "start", "text",
                                    "question"]], on="segment_id")
    if order == "confidence":
        pending = pending.sort_values(["score", "segment_id", "code_id"])
    elif order == "uncertainty":  # active learning: where the classifier is least sure first
        from .assisted import uncertainty_ranks

        ranks = uncertainty_ranks(folder, pending.segment_id, coder=coder)
        pending = pending.assign(_k=pending.segment_id.map(ranks)).sort_values(
            ["_k", "code_id"]).drop(columns="_k")
    elif order == "code":
        pending = pending.assign(_k=pending.code_id.map(codes.index)).sort_values(
            ["_k", "document_id", "start"]).drop(columns="_k")
    else:
        pending = pending.sort_values(["document_id", "start", "code_id"])
    return pending.reset_index(drop=True)


def turn_context(results, segment_id: str) -> list[tuple[str, str]]:
    """The segments of the turn around ``segment_id``, as ``(segment_id, text)`` in order."""
    segments = results.segments
    row = segments[segments.segment_id == segment_id].iloc[0]
    turn = segments[(segments.document_id == row.document_id)
                    & (segments.turn_index == row.turn_index)].sort_values("start")
    return list(zip(turn.segment_id, turn.text, strict=True))


def accept_above(folder: str | Path, threshold: float, *, coder: str) -> int:
    """Accept every pending suggestion scoring at least ``threshold``; return how many."""
    if not 0.0 <= threshold <= 1.0:
        raise OptionError(f"threshold must be between 0 and 1, got {threshold}")
    queue = review_queue(folder, coder=coder)
    chosen = queue[queue.score >= threshold] if len(queue) else queue
    with _store(folder) as store:
        store.decide_many([(s, c, "accept", coder, None, None)
                           for s, c in zip(chosen.segment_id, chosen.code_id, strict=True)])
    apply_decisions(folder)
    return len(chosen)


def export_queue(folder: str | Path, path: str | Path, *, coder: str, order: str = "document") -> Path:
    """Write the pending queue as ``.xlsx`` or ``.csv`` for a colleague to fill in.

    The ``decision`` column takes ``accept``, ``reject``, ``recode`` (with
    ``new_code_id``), ``add`` (``code_id`` = the code to add) or ``memo``.
    """
    from .outputs import atomic_write

    path = Path(path)
    queue = review_queue(folder, coder=coder, order=order)
    frame = queue.reindex(columns=QUEUE_COLUMNS)
    frame[["decision", "new_code_id", "memo"]] = ""
    if path.suffix.lower() == ".xlsx":
        atomic_write(path, lambda tmp: frame.to_excel(tmp, index=False, sheet_name="queue",
                                                      engine="openpyxl"))
    elif path.suffix.lower() == ".csv":
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
    else:
        raise OptionError(f"queue file must end in .xlsx or .csv, not {path.suffix!r}")
    return path


def import_decisions(folder: str | Path, path: str | Path, *, coder: str) -> int:
    """Read a filled queue file and record its decisions, all or none; return how many.

    Every row is checked first: unknown segments, codes or actions are reported
    with the file and line, and nothing is recorded.
    """
    import pandas as pd

    from .results import load_results

    path = Path(path)
    try:
        frame = (pd.read_excel(path, dtype=str) if path.suffix.lower() == ".xlsx"
                 else pd.read_csv(path, dtype=str, keep_default_na=False))
    except Exception as exc:  # pandas/openpyxl raise many types for unreadable files
        raise ResultsError(f"cannot read decisions: {str(exc).splitlines()[0]}", path=path) from None
    frame = frame.fillna("")
    missing = [c for c in ("segment_id", "code_id", "decision") if c not in frame.columns]
    if missing:
        raise ResultsError(f"missing column(s) {', '.join(missing)}", path=path, line=1)
    results = load_results(folder)
    codes = {c.id for c in results.codebook.codes}
    segments = set(results.segments.segment_id)
    rows = []
    for line, row in enumerate(frame.to_dict("records"), start=2):
        action = row["decision"].strip().lower()
        if not action:
            continue
        problem = _check_row(row, action, codes, segments)
        if problem:
            raise ResultsError(problem, path=path, line=line)
        rows.append((row["segment_id"].strip(), row["code_id"].strip(), action, coder,
                     row.get("new_code_id", "").strip() or None, row.get("memo", "").strip() or None))
    try:
        with _store(folder) as store:
            store.decide_many(rows)
    except StoreError as exc:
        raise ResultsError(exc.message, path=path) from None
    apply_decisions(folder)
    return len(rows)


def import_codings(folder: str | Path, path: str | Path, *, coder: str | None = None,
                   coders: dict[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Record a table of human codings as ``add`` decisions, all or none; return counts per coder.

    The table is a CSV in the gold format of ``qualcode evaluate`` (a ``code_id`` per row, and
    ``segment_id``, or ``document_id,start,end``, or ``document_id,text``), such as a
    spreadsheet of codings made by hand or in another tool.  Each row's coder is its
    ``coder`` column, renamed through ``coders`` (old → new), or ``coder`` when the table has
    none.  The store counts an add on a suggested code as its acceptance.  The table is
    taken to code its documents whole: each coder's documents are recorded as covered
    (:meth:`ProjectStore.coverage`), so their other segments count as read and left uncoded
    (agreement, learning); a row coded ``(none)`` only marks its document.  A decision
    the coder already has in force is counted as ``unchanged`` and not recorded again, so
    importing the same table twice adds nothing.  Any bad row (unknown segment, document,
    span or code) is reported with the file and line, and nothing is recorded.
    """
    from .evaluation import NO_CODE, load_gold
    from .results import load_results

    results = load_results(folder)
    table = load_gold(path, results.segments, {c.id for c in results.codebook.codes}, keep=("coder",))
    document_of = dict(zip(results.segments.segment_id, results.segments.document_id, strict=True))
    renamed = coders or {}
    decisions: dict[tuple, tuple] = {}
    covered: dict[tuple[str, str, str], None] = {}
    for row in table.itertuples():
        who = renamed.get(row.coder, row.coder) if row.coder else coder
        if not who:
            raise ResultsError("row has no coder: give the table a coder column, or a coder for "
                               "every row", path=path, line=int(row.line))
        covered[who, document_of[row.segment_id], Path(path).name] = None
        if row.code_id != NO_CODE:
            decisions.setdefault((who, row.segment_id, row.code_id, "add", None),
                                 (row.segment_id, row.code_id, "add", who, None, None))
    with _store(folder) as store:
        counts = record_imported(store, decisions, list(covered))
    if any(c["add"] for c in counts.values()):
        apply_decisions(folder)
    return counts


def record_imported(store: ProjectStore, decisions: dict[tuple, tuple],
                    covered: Sequence[tuple[str, str, str]] = ()) -> dict[str, dict[str, int]]:
    """Record imported decisions the store lacks, in one transaction; return the counts per coder.

    ``decisions`` maps ``(coder, segment, code, "add" | "memo", memo)`` to the row for
    :meth:`ProjectStore.decide_many`; ``covered`` lists ``(coder, document_id, source)``
    for the documents the import codes whole.  An add the coder already has in force (an
    add, accept or re-code to the code) or the same memo is ``unchanged``; a decision the
    coder took since (a rejection, say) stands, as the import adds nothing it already holds.
    """
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
    for identity, decision in decisions.items():
        count = counts.setdefault(identity[0], {"add": 0, "memo": 0, "unchanged": 0})
        if identity in done:
            count["unchanged"] += 1
        else:
            count[identity[3]] += 1
            rows.append(decision)
    rows.sort(key=lambda r: r[2] == "memo")  # the adds first, then the memos on them
    if rows or covered:
        store.decide_many(rows, covered=covered)
    for who, _, _ in covered:
        counts.setdefault(who, {"add": 0, "memo": 0, "unchanged": 0})
    return counts


def _check_row(row: dict, action: str, codes: set, segments: set) -> str | None:
    if action not in ACTIONS:
        return f"unknown decision {action!r}; use one of {', '.join(ACTIONS)}"
    if row["segment_id"].strip() not in segments:
        return f"unknown segment {row['segment_id']!r}"
    if row["code_id"].strip() not in codes:
        return f"unknown code {row['code_id']!r}"
    new = row.get("new_code_id", "").strip()
    if action == "recode" and new not in codes:
        return f"re-code needs a known new_code_id, got {new!r}"
    return None


MACHINE = "machine"


def coder_codings(folder: str | Path, coders: list[str]):
    """Each coder's codings and the segments they coded, for :func:`qualcode.agreement.agreement`.

    A person's codings are the suggestions they accepted plus the codes they added
    or re-coded to; the segments they coded are those they made any decision on, and
    every segment of the documents an import says they coded whole.
    ``machine`` stands for every suggestion of the latest run, on every segment.
    Returns ``(codings, units)``.
    """
    import pandas as pd

    from .results import load_results

    results = load_results(folder)
    rows, units = [], {}
    with _store(folder) as store:
        known = store.coders()
        for coder in coders:
            if coder == MACHINE:
                suggestions = store.suggestions()
                rows += [{"coder": MACHINE, "segment_id": s, "code_id": c}
                         for s, c in zip(suggestions.segment_id, suggestions.code_id, strict=True)]
                units[MACHINE] = list(results.segments.segment_id)
                continue
            if coder not in known:
                raise OptionError(f"unknown coder {coder!r}; coders with decisions: "
                                  f"{', '.join(known) or 'none yet'} (and {MACHINE})")
            effective = store.effective_codings(store.suggestions(), coder=coder)
            mine = effective[(effective.status == "accepted") & (effective.coder == coder)]
            rows += [{"coder": coder, "segment_id": s, "code_id": c}
                     for s, c in zip(mine.segment_id, mine.code_id, strict=True)]
            covered = results.segments.document_id.isin(store.coverage(coder).document_id)
            units[coder] = sorted(set(store.decisions(coder).segment_id)
                                  | set(results.segments.segment_id[covered]))
    return pd.DataFrame(rows, columns=["coder", "segment_id", "code_id"]), units
