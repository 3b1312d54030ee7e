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

from coded_study import CodedStudy, as_codings

from qualcode.learning import DEFAULT_CONTEXT, CodeClassifier, context_texts

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

    dev, test = CodedStudy.read(args.results, args.dev), CodedStudy.read(args.results, args.test)
    texts = context_texts(dev.results.segments, DEFAULT_CONTEXT)
    number = dev.document_of.loc[dev.labels.index].str.extract(r"entretien_(\d+)_", expand=False)
    print(f"{'interviews':>10} {'segments':>9} {'code micro-F1':>14} {'theme micro-F1':>15}")
    for n in (2, 4, 6, 8, 10):
        train = dev.labels[number.isin(ORDER[:n]).to_numpy()]
        model = CodeClassifier().fit(list(texts.loc[train.index]), list(train.positives), codes=dev.codes)
        learned = as_codings(model.predict_proba(texts.loc[test.labels.index]), THRESHOLD)
        scores = test.score_with_suggestions(learned)
        print(f"{n:>10} {len(train):>9} {scores['codes']['micro']['f1']:>14.2f} "
              f"{scores['themes']['micro']['f1']:>15.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
