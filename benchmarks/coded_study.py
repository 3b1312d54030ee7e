"""What the learning benchmarks share: a results folder and a hand-coded table, read once.

``learning_cv.py``, ``learning_variants.py`` and ``learning_curve.py`` all score classifier
codings added to the rule and similarity suggestions of a ``qualcode code`` folder against a
gold table, as ``qualcode evaluate`` scores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qualcode.evaluation import load_gold, score_codings
from qualcode.learning import labels_from_codings
from qualcode.results import Results, load_results


@dataclass
class CodedStudy:
    """A results folder with a gold table: its examples, their documents and the suggestions."""

    results: Results
    gold: pd.DataFrame  # segment_id, code_id (as load_gold resolves the table)
    labels: pd.DataFrame  # labels_from_codings: every segment of the gold's documents
    code_theme: dict[str, str]

    @classmethod
    def read(cls, results_dir: Path, gold: Path) -> CodedStudy:
        results = load_results(results_dir)
        code_theme = {c.id: c.theme_id for c in results.codebook.codes}
        table = load_gold(gold, results.segments, set(code_theme))
        return cls(results, table, labels_from_codings(results.segments, table), code_theme)

    @property
    def codes(self) -> list[str]:
        return list(self.code_theme)

    @property
    def document_of(self) -> pd.Series:
        return self.results.segments.set_index("segment_id").document_id

    @property
    def suggestions(self) -> pd.DataFrame:
        codings = self.results.codings
        return codings[codings.status != "rejected"]

    def score(self, codings: pd.DataFrame) -> dict:
        """Scores of ``codings`` (segment_id, code_id) on the gold's documents."""
        return score_codings(self.gold, codings, list(self.labels.index), self.code_theme)

    def score_with_suggestions(self, learned: pd.DataFrame) -> dict:
        """Scores of ``learned`` codings added to the rule and similarity suggestions."""
        return self.score(pd.concat([learned, self.suggestions[["segment_id", "code_id"]]]))


def as_codings(proba: pd.DataFrame, thresholds) -> pd.DataFrame:
    """The (segment, code) pairs whose probability reaches the threshold (one, or one per code)."""
    limits = (np.array([thresholds[c] for c in proba.columns]) if isinstance(thresholds, dict)
              else thresholds)
    rows, cols = np.nonzero(proba.to_numpy() >= limits)
    return pd.DataFrame({"segment_id": proba.index[rows], "code_id": proba.columns[cols]})
