"""Commands that read transcripts and make or score suggestions: ingest, code, evaluate, learn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .common import ResultsDir, cell, out, progress_bar, user_errors, write_text

Paths = Annotated[list[Path], typer.Argument(help="Transcript files and/or folders.",
                                             show_default=False)]
ParticipantsOpt = Annotated[Path | None, typer.Option(
    "--participants", "-p",
    help="Participants table (CSV/XLSX); default: participants.csv beside the transcripts.")]
UnitOpt = Annotated[str, typer.Option("--unit", help="Unit of coding: sentence, paragraph, turn.")]
InterviewerOpt = Annotated[list[str] | None, typer.Option(
    "--interviewer-label",
    help="Speaker label of the interviewer (repeatable); replaces the default list.")]


def ingest(
    paths: Paths,
    participants: ParticipantsOpt = None,
    unit: UnitOpt = "sentence",
    interviewer_label: InterviewerOpt = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write segments.csv, turns.csv and documents.csv to this folder.")] = None,
) -> None:
    """Read transcripts and show documents, participants, turns, segments and words.

    Example: [bold]qualcode ingest transcripts/ --out results/[/bold]
    """
    from ..corpus import load_corpus
    from ..participants import DEFAULT_INTERVIEWER_LABELS

    with user_errors():
        if unit not in ("sentence", "paragraph", "turn"):
            raise typer.BadParameter(f"{unit!r}; use sentence, paragraph or turn",
                                     param_hint="--unit")
        with progress_bar("Reading transcripts") as advance:
            corpus = load_corpus(paths, participants=participants, unit=unit,
                                 interviewer_labels=interviewer_label or DEFAULT_INTERVIEWER_LABELS,
                                 progress=advance)
        _print_corpus(corpus)
        if out_dir is not None:
            from ..outputs import write_tables

            write_tables(out_dir, {"segments.csv": corpus.segments_frame(),
                                   "turns.csv": corpus.turns_frame(),
                                   "documents.csv": corpus.documents_frame()})
            out.print(f"Wrote segments.csv, turns.csv, documents.csv to {escape(str(out_dir))}")


def _print_corpus(corpus) -> None:
    frame = corpus.documents_frame()
    table = Table(title=f"Corpus: {len(frame)} documents ({corpus.unit} segments)")
    table.add_column("document", no_wrap=True)
    table.add_column("file", no_wrap=True)
    table.add_column("participants", overflow="fold")
    table.add_column("roles", overflow="fold")
    for column in ("turns", "segments", "words"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in frame.itertuples():
        suffix = Path(row.file).suffix.lstrip(".")
        table.add_row(escape(row.document_id), escape(suffix), escape(row.participants),
                      escape(row.roles), str(row.turns), str(row.segments), f"{row.words:,}")
    participants = {s.participant_id for s in corpus.segments}
    table.add_section()
    table.add_row("total", "", f"{len(participants)}", "", str(frame.turns.sum()),
                  str(frame.segments.sum()), f"{frame.words.sum():,}")
    out.print(table)


def code(
    paths: Paths,
    codebook: Annotated[Path, typer.Option("--codebook", "-c", help="Codebook YAML file.",
                                           show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Results folder to write.",
                                          show_default=False)],
    participants: ParticipantsOpt = None,
    unit: Annotated[str | None, typer.Option(help="sentence, paragraph or turn "
                                                  "[default: the codebook's]")] = None,
    similarity: Annotated[str | None, typer.Option(
        help="vectors, tfidf, sentence-transformers or none [default: the codebook's]")] = None,
    threshold: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Decision threshold [default: the codebook's]")] = None,
    context_window: Annotated[int | None, typer.Option(
        min=0, max=5, help="Neighbouring sentences used as context [default: the codebook's]")] = None,
    interviewer_label: InterviewerOpt = None,
    cache: Annotated[Path | None, typer.Option(
        help="Parse cache folder [default: OUT/.qualcode-cache]")] = None,
) -> None:
    """Suggest codings for every participant segment, with provenance, and write them to OUT.

    Writes segments.csv, codings.csv (status: suggested) and run.json.

    Example: [bold]qualcode code transcripts/ --codebook codebooks/ds-ia-sante.yaml --out results/[/bold]
    """
    from ..coding import code_transcripts
    from ..participants import DEFAULT_INTERVIEWER_LABELS

    with user_errors():
        with progress_bar("Coding") as advance:
            result = code_transcripts(
                paths, codebook, out=out_dir, participants=participants, unit=unit,
                similarity=similarity, threshold=threshold, context_window=context_window,
                interviewer_labels=interviewer_label or DEFAULT_INTERVIEWER_LABELS,
                cache_dir=cache, progress=advance)
        _print_summary(result)
        run = result.run
        out.print(f"{run['counts']['codings']} suggestions on {run['counts']['coded_segments']} of "
                  f"{run['counts']['segments']} segments ({run['counts']['words']:,} words, "
                  f"{run['timings']['total']:.1f} s; {run['cache']['cached']} documents from cache). "
                  f"Wrote {escape(str(out_dir))}/segments.csv, codings.csv, run.json")


def _print_summary(result) -> None:
    frame = result.summary()
    table = Table(title="Suggested codings by theme and code")
    for column in ("theme", "code"):
        table.add_column(column)
    for column in ("segments", "participants", "documents", "mean score", "rule / sim / hybrid"):
        table.add_column(column, justify="right", no_wrap=True)
    previous = None
    for row in frame.itertuples():
        if previous is not None and row.theme_id != previous:
            table.add_section()
        table.add_row(escape(row.theme_id) if row.theme_id != previous else "",
                      escape(row.code_id), str(row.segments), str(row.participants),
                      str(row.documents), "—" if row.mean_score is None else f"{row.mean_score:.2f}",
                      f"{row.rule} / {row.embedding} / {row.hybrid}")
        previous = row.theme_id
    out.print(table)


def evaluate(
    pred: Annotated[Path, typer.Option("--pred", "-p", help="Results folder of `qualcode code`.",
                                       show_default=False)],
    gold: Annotated[Path | None, typer.Option("--gold", "-g", help="Gold CSV of human codings.",
                                              show_default=False)] = None,
    held_out: Annotated[bool, typer.Option(
        "--held-out", help="Instead: train the classifier on 80% of the human decisions in PRED "
                           "and score it on the other 20%.")] = False,
    coder: Annotated[str | None, typer.Option(help="With --held-out: learn from this coder only.")
                     ] = None,
    scope: Annotated[str, typer.Option(
        help="documents: every segment of the gold's documents; gold: only segments it names")
    ] = "documents",
    min_score: Annotated[float, typer.Option(min=0.0, max=1.0,
                                             help="Ignore suggestions below this score.")] = 0.0,
    table: Annotated[Path | None, typer.Option(
        help="Compare this coded table (a second coder's, gold format) instead of the suggestions.",
        show_default=False)] = None,
    errors: Annotated[int, typer.Option(help="Show this many missed / wrongly added examples.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write all figures as JSON.")
                        ] = None,
) -> None:
    """Precision, recall, F1 and Cohen's kappa per code and theme against human coding.

    Example: [bold]qualcode evaluate --gold gold/ds-ia-sante-test.csv --pred results/[/bold]
    """
    from ..evaluation import evaluate as run_evaluation

    with user_errors():
        if held_out:
            _print_held_out(pred, coder, json_out)
            return
        if gold is None:
            raise typer.BadParameter("give --gold FILE, or --held-out", param_hint="--gold")
        if scope not in ("documents", "gold"):
            raise typer.BadParameter(f"{scope!r}; use documents or gold", param_hint="--scope")
        report = run_evaluation(gold, pred, scope=scope, min_score=min_score, table=table)
        _print_evaluation(report, errors)
        if json_out is not None:
            import json

            from ..outputs import atomic_write

            atomic_write(json_out, lambda tmp: tmp.write_text(
                json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"))


def _print_held_out(pred: Path, coder: str | None, json_out: Path | None) -> None:
    from ..assisted import held_out

    figures = held_out(pred, coder=coder)
    table = Table(title="Classifier on held-out human decisions (20%)")
    for column in ("code_id", "support", "predicted", "precision", "recall", "F1", "kappa", "model"):
        table.add_column(column, justify="left" if column == "code_id" else "right")
    for row in figures["per_code"]:
        table.add_row(escape(row["code_id"]), str(row["support"]), str(row.get("predicted", "")),
                      *(cell(row[k]) if row[k] is not None else "—"
                        for k in ("precision", "recall", "f1", "kappa")),
                      "trained" if row.get("trained") else "not learned")
    out.print(table)
    micro, macro = figures["micro"], figures["macro"]
    out.print(f"micro F1 {cell(micro['f1'])} · macro F1 {cell(macro['f1'])} · "
              f"train {figures.get('n_train', '?')} / test {figures.get('n_test', '?')} segments")
    if json_out is not None:
        import json

        write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n", json_out)


def _print_evaluation(report, n_errors: int) -> None:
    for title, frame, key in (("Codes", report.per_code, "code_id"),
                              ("Themes", report.per_theme, "theme_id")):
        table = Table(title=f"{title}: {report.summary['segments']} segments, "
                            f"{report.summary['documents']} documents")
        table.add_column(key)
        for column in ("support", "predicted", "precision", "recall", "F1", "kappa"):
            table.add_column(column, justify="right")
        for row in frame.itertuples():
            table.add_row(escape(getattr(row, key)), str(row.support), str(row.predicted),
                          f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}",
                          f"{row.kappa:.2f}")
        averages = report.summary["codes" if title == "Codes" else "themes"]
        table.add_section()
        for name in ("micro", "macro"):
            avg = averages[name]
            table.add_row(name, "", "", f"{avg['precision']:.2f}", f"{avg['recall']:.2f}",
                          f"{avg['f1']:.2f}", f"{avg['kappa']:.2f}")
        out.print(table)
    single = report.single_label
    if single:
        out.print(f"Single-label: accuracy {single['accuracy']:.3f}, macro-F1 {single['macro_f1']:.3f}, "
                  f"kappa {single['kappa']:.3f} on {single['segments']} segments; majority class "
                  f"{escape(single['majority_code'])} would score {single['majority_accuracy']:.3f}; "
                  f"{single['unassigned']} segments got no code.")
    if n_errors:
        for row in report.errors.head(n_errors).itertuples():
            out.print(f"[bold]{row.error}[/bold] {escape(row.code_id)} · {escape(row.segment_id)}: "
                      f"{escape(row.text)}\n  [dim]{escape(row.evidence or 'no evidence')}[/dim]")


def learn(
    results_dir: ResultsDir,
    coder: Annotated[str | None, typer.Option(help="Learn from this coder's decisions only.")] = None,
    training: Annotated[Path | None, typer.Option(
        help="Learn from this hand-coded table instead of the decisions (gold format of "
             "'evaluate'; it codes its documents completely).", show_default=False)] = None,
    threshold: Annotated[float | None, typer.Option(
        help="Suggest a code from this probability on (default 0.5, or tuned).",
        show_default=False)] = None,
    tune_thresholds: Annotated[bool, typer.Option(
        help="Choose each code's threshold on a validation split (best F1).")] = False,
) -> None:
    """Train a classifier on human codings and add its suggestions (method: model).

    Example: [bold]qualcode learn results/ --coder alice[/bold]; from a coded table:
    [bold]qualcode learn results/ --training coded.csv --threshold 0.4[/bold]
    """
    from ..assisted import add_model_suggestions

    with user_errors():
        if threshold is not None and tune_thresholds:
            raise typer.BadParameter("give either --threshold or --tune-thresholds",
                                     param_hint="--threshold")
        summary = add_model_suggestions(results_dir, coder=coder, training=training,
                                        threshold=threshold, tune_thresholds=tune_thresholds)
        out.print(f"Learned {len(summary['codes'])} codes from {summary['reviewed_segments']} coded "
                  f"segments; {summary['suggestions_added']} new suggestions (method model), "
                  f"{summary['probabilities_added_to_evidence']} probabilities added to existing "
                  "ones. Not learned: " + escape(", ".join(summary["skipped"]) or "none"))
