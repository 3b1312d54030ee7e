"""Learning from validated codings inside a project: model suggestions, held-out scores, review order.

Once researchers have decided on enough suggestions (or given a table of codings
made elsewhere), a per-code classifier (:class:`qualcode.learning.CodeClassifier`)
trained on those human codings becomes a third suggestion method, ``model``, beside
rules and similarity.  It only ever *suggests*: its codings enter the queue with
status ``suggested``, the probability as score and the nearest coded example as
evidence, and segments a person already coded or decided on are left alone.

Examples
--------
>>> report = add_model_suggestions("results/", coder="alice")   # doctest: +SKIP
>>> held_out("results/", coder="alice")["micro"]                # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import OptionError, ResultsError
from .review import _store, apply_decisions

__all__ = ["add_model_suggestions", "held_out", "uncertainty_ranks"]


def _training(folder: str | Path, coder: str | None, training: str | Path | None = None):
    """The results, the reviewed segments to learn from (see :mod:`qualcode.learning`),
    the codebook's code ids and where the examples come from, in words."""
    from .learning import labels_from_codings, labels_from_decisions
    from .results import load_results

    results = load_results(folder)
    codes = [c.id for c in results.codebook.codes]
    if training is not None:
        from .evaluation import load_gold

        coded = load_gold(training, results.segments, set(codes))
        reviewed = labels_from_codings(results.segments, coded)
        return results, reviewed, codes, f"{len(reviewed)} hand-coded segments of {Path(training).name}"
    with _store(folder) as store:
        decisions = store.decisions(coder)
        covered_documents = set(store.coverage(coder).document_id)
    if decisions.empty:
        who = f"coder {coder!r}" if coder else "any coder"
        raise ResultsError(f"no decisions by {who} yet: review some suggestions first "
                           "(qualcode review), or learn from a coded table (--training)", path=folder)
    covered = results.segments.segment_id[results.segments.document_id.isin(covered_documents)]
    reviewed = labels_from_decisions(results.segments, decisions, codes=codes, covered=covered)
    return results, reviewed, codes, (f"{len(reviewed)} reviewed segments"
                                      + (f" of coder {coder}" if coder else ""))


def _classifier(texts, reviewed, codes: list[str], folder, **params):
    from .learning import CodeClassifier

    model = CodeClassifier(**params).fit(list(texts.loc[reviewed.index]), list(reviewed.positives),
                                         codes=codes)
    if not model.codes_:
        reasons = "; ".join(f"{c}: {why}" for c, why in sorted(model.skipped_.items())[:4])
        raise ResultsError("not enough validated codings to learn any code "
                           f"(at least {model.min_examples} positive and negative segments per "
                           f"code): {reasons}", path=folder)
    return model


def add_model_suggestions(folder: str | Path, *, coder: str | None = None,
                          training: str | Path | None = None, tune_thresholds: bool = False,
                          threshold: float | None = None, context=None) -> dict:
    """Train on human codings and add ``method=model`` suggestions to the latest run.

    The examples are the decisions in the project store (of ``coder``, or of anyone),
    or, with ``training``, a hand-coded table in the gold format of ``qualcode
    evaluate`` that codes its documents completely.  The classifier reads each segment
    with its ``context`` (:func:`qualcode.learning.context_texts`).  Segments that
    are neither examples nor decided on get a suggestion for each code whose
    probability reaches ``threshold`` (default: the classifier's thresholds), with the
    probability and the nearest coded example as evidence; where rules or similarity
    already suggested the code, that evidence is added to theirs instead.  The training
    summary is recorded in ``run.json`` under ``model``.  Returns that summary.
    """
    from .learning import DEFAULT_CONTEXT, context_texts

    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise OptionError(f"threshold must be in (0, 1], got {threshold}")
    context = DEFAULT_CONTEXT if context is None else tuple(context)
    results, reviewed, codes, source = _training(folder, coder, training)
    texts = context_texts(results.segments, context)
    model = _classifier(texts, reviewed, codes, folder, tune_thresholds=tune_thresholds)
    segments = results.segments
    with _store(folder) as store:  # what people decided on or coded whole is theirs
        decided = set(store.decisions().segment_id)
        decided |= set(segments.segment_id[segments.document_id.isin(store.coverage().document_id)])
    pending = segments[~segments.segment_id.isin(reviewed.index) & ~segments.segment_id.isin(decided)]
    proba = model.predict_proba(texts.loc[pending.segment_id])
    limits = dict(model.thresholds_) if threshold is None else dict.fromkeys(model.codes_, threshold)
    sentences = results.segments.set_index("segment_id").text.fillna("").astype(str)
    nearest = _nearest_examples(model, texts, sentences, reviewed, proba, limits)
    themes = {c.id: c.theme_id for c in results.codebook.codes}
    documents = dict(zip(segments.segment_id, segments.document_id, strict=True))
    rows = []
    for code in model.codes_:
        hits = proba[code][proba[code] >= limits[code]]
        rows += [{"document_id": documents[s], "segment_id": s, "code_id": code,
                  "theme_id": themes[code], "score": round(float(p), 4), "method": "model",
                  "evidence": f"classifier trained on {source} (p = {p:.2f})"
                              + (f"; nearest coded example «{_short(nearest[s, code])}»"
                                 if (s, code) in nearest else ""),
                  "rule_score": 0.0, "similarity": 0.0, "matched": "", "negated": False,
                  "nearest_exemplar": nearest.get((s, code), ""), "status": "suggested"}
                 for s, p in hits.items()]
    with _store(folder) as store:
        added = store.add_model_suggestions(rows)
    summary = {"coder": coder, "training": str(training) if training is not None else None,
               "reviewed_segments": len(reviewed), "codes": list(model.codes_),
               "skipped": dict(model.skipped_), "thresholds": limits, "context": list(context),
               "suggestions_added": added, "probabilities_added_to_evidence": len(rows) - added,
               "params": {k: v for k, v in model.get_params().items() if k != "features"}}
    _record(folder, summary)
    apply_decisions(folder)
    return summary


def _nearest_examples(model, texts, sentences, reviewed, proba, limits) -> dict[tuple[str, str], str]:
    """For each (segment, code) to suggest, the text of the most similar training segment
    given that code (``sentences``: segment id → text).

    Similarity is the dot product of the classifier's own features (of the texts it reads,
    context included), so the example shows a person which coded wording the suggestion
    resembles.
    """
    train_ids = list(reviewed.index)
    train = model.features_.transform(texts.loc[train_ids])
    found = {}
    for code in model.codes_:
        hits = proba.index[proba[code].to_numpy() >= limits[code]]
        positive = [k for k, labels in enumerate(reviewed.positives) if code in labels]
        if not len(hits) or not positive:
            continue
        similarity = model.features_.transform(texts.loc[hits]) @ train[positive].T
        best = np.asarray(similarity.argmax(axis=1)).ravel()
        for segment, k in zip(hits, best.tolist(), strict=True):
            found[segment, code] = sentences.loc[train_ids[positive[k]]]
    return found


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "…"


def _record(folder: str | Path, summary: dict) -> None:
    from .outputs import atomic_write

    path = Path(folder) / "run.json"
    run = json.loads(path.read_text(encoding="utf-8"))
    run["model"] = summary
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(run, indent=2, ensure_ascii=False,
                                                             default=str) + "\n", encoding="utf-8"))


def held_out(folder: str | Path, *, coder: str | None = None, training: str | Path | None = None,
             test_size: float = 0.2, random_state: int = 42, context=None) -> dict:
    """Precision, recall, F1 and κ per code of the classifier on human codings it did not see."""
    from .learning import DEFAULT_CONTEXT, context_texts, evaluate_split

    if not 0.0 < test_size < 1.0:
        raise OptionError(f"test_size must be between 0 and 1, got {test_size}")
    results, reviewed, codes, _ = _training(folder, coder, training)
    if len(reviewed) < 10:
        raise ResultsError(f"only {len(reviewed)} reviewed segments: too few to hold any out",
                           path=folder)
    texts = context_texts(results.segments, DEFAULT_CONTEXT if context is None else tuple(context))
    return evaluate_split(texts.loc[reviewed.index], list(reviewed.positives), codes=codes,
                          test_size=test_size, random_state=random_state)


def uncertainty_ranks(folder: str | Path, segment_ids, *, coder: str | None = None) -> dict[str, int]:
    """Rank of each segment in the active-learning order (least confident first)."""
    from .learning import DEFAULT_CONTEXT, context_texts, uncertainty_order

    results, reviewed, codes, _ = _training(folder, coder)
    texts = context_texts(results.segments, DEFAULT_CONTEXT)
    model = _classifier(texts, reviewed, codes, folder)
    order = uncertainty_order(model.predict_proba(texts.loc[list(dict.fromkeys(segment_ids))]))
    return {segment_id: rank for rank, segment_id in enumerate(order)}
