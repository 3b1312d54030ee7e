"""Learning from validated codings inside a project: model suggestions, held-out scores, review order.

Once researchers have decided on enough suggestions, a per-code classifier
(:class:`qualcode.learning.CodeClassifier`) trained on those decisions becomes a
third suggestion method, ``model``, beside rules and similarity.  It only ever
*suggests*: its codings enter the queue with status ``suggested`` and the
probability as score, and segments a person already decided on are left alone.

Examples
--------
>>> report = add_model_suggestions("results/", coder="alice")   # doctest: +SKIP
>>> held_out("results/", coder="alice")["micro"]                # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import OptionError, ResultsError
from .review import _store, apply_decisions

__all__ = ["add_model_suggestions", "held_out", "uncertainty_ranks"]


def _training(folder: str | Path, coder: str | None):
    """The results, the decisions to learn from and the codebook's code ids."""
    from .results import load_results

    results = load_results(folder)
    with _store(folder) as store:
        decisions = store.decisions(coder)
    if decisions.empty:
        who = f"coder {coder!r}" if coder else "any coder"
        raise ResultsError(f"no decisions by {who} yet: review some suggestions first "
                           "(qualcode review)", path=folder)
    return results, decisions, [c.id for c in results.codebook.codes]


def _classifier(results, decisions, codes: list[str], tune_thresholds: bool, folder):
    from .learning import CodeClassifier

    model = CodeClassifier(tune_thresholds=tune_thresholds).fit_decisions(
        results.segments, decisions, codes=codes)
    if not model.codes_:
        reasons = "; ".join(f"{c}: {why}" for c, why in sorted(model.skipped_.items())[:4])
        raise ResultsError("not enough validated codings to learn any code "
                           f"(at least {model.min_examples} positive and negative segments per "
                           f"code): {reasons}", path=folder)
    return model


def add_model_suggestions(folder: str | Path, *, coder: str | None = None,
                          tune_thresholds: bool = False) -> dict:
    """Train on the decisions and add ``method=model`` suggestions to the latest run.

    Undecided segments whose probability for a code reaches that code's threshold
    get a suggestion; where rules or similarity already suggested the code, the
    probability is added to its evidence instead.  The training summary is
    recorded in ``run.json`` under ``model``.  Returns that summary.
    """
    from .learning import labels_from_decisions

    results, decisions, codes = _training(folder, coder)
    model = _classifier(results, decisions, codes, tune_thresholds, folder)
    reviewed = labels_from_decisions(results.segments, decisions, codes=codes)
    pending = results.segments[~results.segments.segment_id.isin(reviewed.index)]
    proba = model.predict_proba(pending.set_index("segment_id").text)
    themes = {c.id: c.theme_id for c in results.codebook.codes}
    documents = dict(zip(results.segments.segment_id, results.segments.document_id, strict=True))
    trained_on = (f"classifier trained on {len(reviewed)} reviewed segments"
                  + (f" of coder {coder}" if coder else ""))
    rows = []
    for code in model.codes_:
        hits = proba[code][proba[code] >= model.thresholds_[code]]
        rows += [{"document_id": documents[s], "segment_id": s, "code_id": code,
                  "theme_id": themes[code], "score": round(float(p), 4), "method": "model",
                  "evidence": f"{trained_on} (p = {p:.2f})", "rule_score": 0.0, "similarity": 0.0,
                  "matched": "", "negated": False, "nearest_exemplar": "", "status": "suggested"}
                 for s, p in hits.items()]
    with _store(folder) as store:
        added = store.add_model_suggestions(rows)
    summary = {"coder": coder, "reviewed_segments": len(reviewed), "codes": list(model.codes_),
               "skipped": dict(model.skipped_), "thresholds": dict(model.thresholds_),
               "suggestions_added": added, "probabilities_added_to_evidence": len(rows) - added,
               "params": {k: v for k, v in model.get_params().items() if k != "features"}}
    _record(folder, summary)
    apply_decisions(folder)
    return summary


def _record(folder: str | Path, summary: dict) -> None:
    from .outputs import atomic_write

    path = Path(folder) / "run.json"
    run = json.loads(path.read_text(encoding="utf-8"))
    run["model"] = summary
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(run, indent=2, ensure_ascii=False,
                                                             default=str) + "\n", encoding="utf-8"))


def held_out(folder: str | Path, *, coder: str | None = None, test_size: float = 0.2,
             random_state: int = 42) -> dict:
    """Precision, recall, F1 and κ per code of the classifier on decisions it did not see."""
    from .learning import evaluate_split, labels_from_decisions

    if not 0.0 < test_size < 1.0:
        raise OptionError(f"test_size must be between 0 and 1, got {test_size}")
    results, decisions, codes = _training(folder, coder)
    reviewed = labels_from_decisions(results.segments, decisions, codes=codes)
    if len(reviewed) < 10:
        raise ResultsError(f"only {len(reviewed)} reviewed segments: too few to hold any out",
                           path=folder)
    return evaluate_split(reviewed.text, list(reviewed.positives), codes=codes,
                          test_size=test_size, random_state=random_state)


def uncertainty_ranks(folder: str | Path, segment_ids, *, coder: str | None = None) -> dict[str, int]:
    """Rank of each segment in the active-learning order (least confident first)."""
    from .learning import uncertainty_order

    results, decisions, codes = _training(folder, coder)
    model = _classifier(results, decisions, codes, False, folder)
    texts = results.segments.set_index("segment_id").text.loc[list(dict.fromkeys(segment_ids))]
    order = uncertainty_order(model.predict_proba(texts))
    return {segment_id: rank for rank, segment_id in enumerate(order)}
