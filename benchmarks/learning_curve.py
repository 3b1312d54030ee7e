"""How held-out accuracy grows with the number of hand-coded interviews the classifier learns from.

Reporting only: nothing is chosen from these figures (the classifier's settings come from
``benchmarks/learning_cv.py``, on the development interviews).  The classifier of ``qualcode
learn`` (default settings, the README's 0.4 threshold) is trained on the first 2, 4, 6, 8 and
10 development interviews, in a fixed order (05 and 10, the first coded, then by number), and
its codings, added to the rule and similarity suggestions of ``RESULTS``, are scored against the
held-out gold as ``qualcode evaluate`` scores them.

Usage::

    qualcode code transcripts/ --codebook codebooks/ds-ia-sante.yaml --out results/
    python benchmarks/learning_curve.py --results results/
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

from qualcode.evaluation import load_gold, score_codings
from qualcode.learning import DEFAULT_CONTEXT, CodeClassifier, context_texts, labels_from_codings
from qualcode.results import load_results

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("05", "10", "01", "03", "04", "07", "08", "09", "11", "12")
THRESHOLD = 0.4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a qualcode code results folder")
    parser.add_argument("--dev", type=Path, default=ROOT / "gold" / "ds-ia-sante-dev.csv")
    parser.add_argument("--test", type=Path, default=ROOT / "gold" / "ds-ia-sante-test.csv")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    results = load_results(args.results)
    code_theme = {c.id: c.theme_id for c in results.codebook.codes}
    codes = list(code_theme)
    segments = results.segments
    texts = context_texts(segments, DEFAULT_CONTEXT)
    dev = labels_from_codings(segments, load_gold(args.dev, segments, set(codes)))
    test_gold = load_gold(args.test, segments, set(codes))
    test = labels_from_codings(segments, test_gold)
    document_of = segments.set_index("segment_id").document_id
    number = document_of.loc[dev.index].str.extract(r"entretien_(\d+)_", expand=False)
    suggestions = results.codings[results.codings.status != "rejected"][["segment_id", "code_id"]]
    print(f"{'interviews':>10} {'segments':>9} {'code micro-F1':>14} {'theme micro-F1':>15}")
    for n in (2, 4, 6, 8, 10):
        train = dev[number.isin(ORDER[:n]).to_numpy()]
        model = CodeClassifier().fit(list(texts.loc[train.index]), list(train.positives), codes=codes)
        proba = model.predict_proba(texts.loc[test.index])
        learned = pd.DataFrame([(s, c) for c in model.codes_ for s in proba.index[proba[c] >= THRESHOLD]],
                               columns=["segment_id", "code_id"])
        scores = score_codings(test_gold, pd.concat([learned, suggestions]), list(test.index), code_theme)
        print(f"{n:>10} {len(train):>9} {scores['codes']['micro']['f1']:>14.2f} "
              f"{scores['themes']['micro']['f1']:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
