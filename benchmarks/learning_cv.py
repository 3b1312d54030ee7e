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
from coded_study import CodedStudy, as_codings

from qualcode.learning import CodeClassifier, context_texts

CONTEXTS = ((), ("previous",), ("question",), ("previous", "question"), ("previous", "next", "question"))
CS = (1.0, 4.0)
THRESHOLDS = tuple(np.round(np.arange(0.20, 0.551, 0.05), 2))


def fold_probabilities(study: CodedStudy, context, C) -> pd.DataFrame:
    """Out-of-fold probabilities of every code for every development segment."""
    texts = context_texts(study.results.segments, context)
    labels, document_of = study.labels, study.document_of.loc[study.labels.index]
    parts = []
    for held in sorted(document_of.unique()):
        train = labels[(document_of != held).to_numpy()]
        test_ids = labels.index[(document_of == held).to_numpy()]
        model = CodeClassifier(C=C).fit(list(texts.loc[train.index]), list(train.positives),
                                        codes=study.codes)
        parts.append(model.predict_proba(texts.loc[test_ids]).reindex(columns=study.codes, fill_value=0.0))
    return pd.concat(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a qualcode code results folder")
    parser.add_argument("--gold", type=Path, required=True, help="the development gold CSV")
    parser.add_argument("--quick", action="store_true", help="only the default context and C = 1")
    parser.add_argument("--json", type=Path, default=None, help="also write every score here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    study = CodedStudy.read(args.results, args.gold)
    documents = sorted(study.document_of.loc[study.labels.index].unique())
    print(f"{len(documents)} development interviews, {len(study.labels)} segments, {len(study.gold)} "
          "codings; leave-one-interview-out", flush=True)

    grid = [(("previous", "question"), 1.0)] if args.quick else list(itertools.product(CONTEXTS, CS))
    rows = []
    for context, C in grid:
        tick = time.perf_counter()
        proba = fold_probabilities(study, context, C)
        for threshold in THRESHOLDS:
            model = as_codings(proba, threshold)
            for name, scores in (
                    ("model", study.score(model)),
                    ("model + rules/similarity", study.score_with_suggestions(model))):
                rows.append({"context": "+".join(context) or "(segment only)", "C": C,
                             "threshold": float(threshold), "suggestions": name,
                             "codes_micro_f1": scores["codes"]["micro"]["f1"],
                             "codes_macro_f1": scores["codes"]["macro"]["f1"],
                             "themes_micro_f1": scores["themes"]["micro"]["f1"],
                             "codes_precision": scores["codes"]["micro"]["precision"],
                             "codes_recall": scores["codes"]["micro"]["recall"]})
        print(f"  context {'+'.join(context) or '(segment only)'}, C={C}: "
              f"{time.perf_counter() - tick:.0f} s", flush=True)
    alone = study.score(study.suggestions[["segment_id", "code_id"]])
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
