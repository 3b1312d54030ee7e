"""Choosing the learned classifier's settings on the development interviews only.

``qualcode learn --training FILE`` trains :class:`qualcode.learning.CodeClassifier` on a
hand-coded table and suggests codes for the other segments.  Its settings (the context it
reads, the regularisation ``C``, the probability threshold) are chosen here by
**leave-one-interview-out cross-validation on the development gold**, so the held-out
interviews (``gold/ds-ia-sante-test.csv``) play no part in the choice.

For every development interview in turn, the classifier is trained on the other
development interviews and predicts the left-out one; the predictions of all folds are
pooled and scored against the development gold (micro and macro averages by code and by
theme, as ``qualcode evaluate`` computes them), both for the classifier alone and for the
classifier's codings added to the rule and similarity suggestions of ``RESULTS`` (what a
user gets after ``qualcode learn``).  The setting with the best code micro-F1 of that union
is printed last.

Usage::

    qualcode code transcripts/ --codebook codebooks/ds-ia-sante.yaml --out results/
    python benchmarks/learning_cv.py --results results/ --gold gold/ds-ia-sante-dev.csv
    python benchmarks/learning_cv.py --results results/ --gold gold/ds-ia-sante-dev.csv --quick
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from qualcode.evaluation import load_gold, score_codings
from qualcode.learning import CodeClassifier, context_texts, labels_from_codings
from qualcode.results import load_results

CONTEXTS = ((), ("previous",), ("question",), ("previous", "question"), ("previous", "next", "question"))
CS = (1.0, 4.0)
THRESHOLDS = tuple(np.round(np.arange(0.20, 0.551, 0.05), 2))


def fold_probabilities(segments, labels, documents, codes, context, C) -> pd.DataFrame:
    """Out-of-fold probabilities of every code for every development segment."""
    texts = context_texts(segments, context)
    document_of = segments.set_index("segment_id").document_id
    parts = []
    for held in documents:
        train = labels[document_of.loc[labels.index] != held]
        test_ids = labels.index[document_of.loc[labels.index] == held]
        model = CodeClassifier(C=C).fit(list(texts.loc[train.index]), list(train.positives), codes=codes)
        proba = model.predict_proba(texts.loc[test_ids])
        parts.append(proba.reindex(columns=codes, fill_value=0.0))
    return pd.concat(parts)


def as_codings(proba: pd.DataFrame, threshold: float) -> pd.DataFrame:
    rows, cols = np.nonzero(proba.to_numpy() >= threshold)
    return pd.DataFrame({"segment_id": proba.index[rows], "code_id": proba.columns[cols]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a qualcode code results folder")
    parser.add_argument("--gold", type=Path, required=True, help="the development gold CSV")
    parser.add_argument("--quick", action="store_true", help="only the default context and C = 1")
    parser.add_argument("--json", type=Path, default=None, help="also write every score here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    results = load_results(args.results)
    code_theme = {c.id: c.theme_id for c in results.codebook.codes}
    codes = list(code_theme)
    segments = results.segments
    gold = load_gold(args.gold, segments, set(codes))
    labels = labels_from_codings(segments, gold)
    documents = sorted(segments.set_index("segment_id").document_id.loc[labels.index].unique())
    suggestions = results.codings[results.codings.status != "rejected"]
    print(f"{len(documents)} development interviews, {len(labels)} segments, {len(gold)} codings; "
          f"leave-one-interview-out", flush=True)

    grid = [(("previous", "question"), 1.0)] if args.quick else list(itertools.product(CONTEXTS, CS))
    rows = []
    for context, C in grid:
        tick = time.perf_counter()
        proba = fold_probabilities(segments, labels, documents, codes, context, C)
        for threshold in THRESHOLDS:
            model = as_codings(proba, threshold)
            union = pd.concat([model, suggestions[["segment_id", "code_id"]]])
            for name, predicted in (("model", model), ("model + rules/similarity", union)):
                scores = score_codings(gold, predicted, list(labels.index), code_theme)
                rows.append({"context": "+".join(context) or "(segment only)", "C": C,
                             "threshold": float(threshold), "suggestions": name,
                             "codes_micro_f1": scores["codes"]["micro"]["f1"],
                             "codes_macro_f1": scores["codes"]["macro"]["f1"],
                             "themes_micro_f1": scores["themes"]["micro"]["f1"],
                             "codes_precision": scores["codes"]["micro"]["precision"],
                             "codes_recall": scores["codes"]["micro"]["recall"]})
        print(f"  context {'+'.join(context) or '(segment only)'}, C={C}: "
              f"{time.perf_counter() - tick:.0f} s", flush=True)
    alone = score_codings(gold, suggestions, list(labels.index), code_theme)
    table = pd.DataFrame(rows)
    union = table[table.suggestions != "model"].sort_values(
        ["codes_micro_f1", "themes_micro_f1"], ascending=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\nrules/similarity alone on the same segments: codes micro-F1 "
              f"{alone['codes']['micro']['f1']:.3f}, themes {alone['themes']['micro']['f1']:.3f}")
        print("\nbest settings (model + rules/similarity, pooled over the folds):")
        print(union.head(10).to_string(index=False))
        print("\nthe classifier alone, same order:")
        print(table[table.suggestions == "model"].sort_values("codes_micro_f1", ascending=False)
              .head(5).to_string(index=False))
    best = union.iloc[0]
    print(f"\nchosen: context {best.context}, C={best.C}, threshold {best.threshold} "
          f"(codes micro-F1 {best.codes_micro_f1:.3f}, themes {best.themes_micro_f1:.3f})")
    if args.json:
        args.json.write_text(json.dumps({"documents": documents, "rules_alone": alone,
                                         "rows": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
