"""The ``qualcode`` command line: option parsing, one library call, and display.

User errors (:class:`~qualcode.errors.QualcodeError`) become one line on stderr
and exit code 2; library warnings are shown as ``warning:`` lines.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from . import __version__
from .errors import CodebookError, QualcodeError

app = typer.Typer(
    name="qualcode",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)
codebook_app = typer.Typer(help="Validate and display a thematic codebook.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")

# When piped, Rich would fall back to 80 columns and fold the tables; 120 keeps them readable.
_PIPE_WIDTH = None if sys.stdout.isatty() else 120
out = Console(highlight=False, width=_PIPE_WIDTH)
err = Console(stderr=True, highlight=False, width=_PIPE_WIDTH)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Show QualcodeError as one stderr line and exit 2; show warnings as ``warning:`` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except CodebookError as exc:
            _show_warnings(caught)
            err.print(f"error: {escape(str(exc))}", soft_wrap=True)
            if len(exc.problems) > 1:
                for problem in exc.problems:
                    err.print(f"  {escape(str(problem))}", soft_wrap=True)
            raise typer.Exit(2) from None
        except QualcodeError as exc:
            _show_warnings(caught)
            err.print(f"error: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(2) from None
        _show_warnings(caught)


def _show_warnings(caught) -> None:
    seen = set()
    for warning in caught:
        text = str(warning.message)
        if text not in seen and issubclass(warning.category, UserWarning):
            seen.add(text)
            err.print(f"warning: {escape(text)}", soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"qualcode {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Thematic coding of interview transcripts.

    Example: [bold]qualcode ingest transcripts/[/bold]
    """


Paths = Annotated[list[Path], typer.Argument(help="Transcript files and/or folders.",
                                             show_default=False)]
ParticipantsOpt = Annotated[Path | None, typer.Option(
    "--participants", "-p",
    help="Participants table (CSV/XLSX); default: participants.csv beside the transcripts.")]
UnitOpt = Annotated[str, typer.Option("--unit", help="Unit of coding: sentence, paragraph, turn.")]
InterviewerOpt = Annotated[list[str] | None, typer.Option(
    "--interviewer-label",
    help="Speaker label of the interviewer (repeatable); replaces the default list.")]


@app.command()
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
    from .corpus import load_corpus
    from .participants import DEFAULT_INTERVIEWER_LABELS

    with user_errors():
        if unit not in ("sentence", "paragraph", "turn"):
            raise typer.BadParameter(f"{unit!r}; use sentence, paragraph or turn",
                                     param_hint="--unit")
        with _progress("Reading transcripts") as advance:
            corpus = load_corpus(paths, participants=participants, unit=unit,
                                 interviewer_labels=interviewer_label or DEFAULT_INTERVIEWER_LABELS,
                                 progress=advance)
        _print_corpus(corpus)
        if out_dir is not None:
            from .outputs import write_tables

            write_tables(out_dir, {"segments.csv": corpus.segments_frame(),
                                   "turns.csv": corpus.turns_frame(),
                                   "documents.csv": corpus.documents_frame()})
            out.print(f"Wrote segments.csv, turns.csv, documents.csv to {escape(str(out_dir))}")


@contextlib.contextmanager
def _progress(description: str):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not err.is_terminal:
        yield lambda _name: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[item]}"),
                  TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task(description, total=None, item="")
        yield lambda name: progress.update(task, advance=1, item=escape(str(name)))


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


@app.command()
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
    from .coding import code_transcripts
    from .participants import DEFAULT_INTERVIEWER_LABELS

    with user_errors():
        with _progress("Coding") as advance:
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


@app.command()
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
    from .evaluation import evaluate as run_evaluation

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

            from .outputs import atomic_write

            atomic_write(json_out, lambda tmp: tmp.write_text(
                json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"))


def _print_held_out(pred: Path, coder: str | None, json_out: Path | None) -> None:
    from .assisted import held_out

    figures = held_out(pred, coder=coder)
    table = Table(title="Classifier on held-out human decisions (20%)")
    for column in ("code_id", "support", "predicted", "precision", "recall", "F1", "kappa", "model"):
        table.add_column(column, justify="left" if column == "code_id" else "right")
    for row in figures["per_code"]:
        table.add_row(escape(row["code_id"]), str(row["support"]), str(row.get("predicted", "")),
                      *(_cell(row[k]) if row[k] is not None else "—"
                        for k in ("precision", "recall", "f1", "kappa")),
                      "trained" if row.get("trained") else "not learned")
    out.print(table)
    micro, macro = figures["micro"], figures["macro"]
    out.print(f"micro F1 {_cell(micro['f1'])} · macro F1 {_cell(macro['f1'])} · "
              f"train {figures.get('n_train', '?')} / test {figures.get('n_test', '?')} segments")
    if json_out is not None:
        import json

        _write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n", json_out)


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


ResultsDir = Annotated[Path, typer.Argument(help="Results folder written by `qualcode code`.",
                                            show_default=False)]
StatusOpt = Annotated[str, typer.Option(
    help="Which codings count: suggested, accepted (human-validated) or all (not rejected).")]
MinScoreOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="Ignore codings below this score.")]
ThemeOpt = Annotated[list[str] | None, typer.Option("--theme", help="Only these themes (repeatable).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv, md or xlsx.")]
OutFileOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")]


@app.command()
def matrix(
    results_dir: ResultsDir,
    by: Annotated[str, typer.Option(
        help="document, participant, an attribute (role, establishment…), or code for co-occurrence.")
    ] = "document",
    measure: Annotated[str, typer.Option(
        help="segments, coverage (% of words), presence, participants or words.")] = "segments",
    level: Annotated[str, typer.Option(help="code or theme.")] = "code",
    status: StatusOpt = "all",
    min_score: MinScoreOpt = 0.0,
    theme: ThemeOpt = None,
    fmt: FormatOpt = "table",
    out_file: OutFileOpt = None,
) -> None:
    """A code matrix: documents, participants or attribute values × codes (or code × code).

    Example: [bold]qualcode matrix results/ --by role --measure participants --format md[/bold]
    """
    from .matrices import code_matrix, cooccurrence
    from .results import load_results

    with user_errors():
        results = load_results(results_dir)
        filters = {"status": status, "min_score": min_score, "themes": theme, "level": level}
        if by == "code":
            frame, _ = cooccurrence(results, **filters)
            title = f"Co-occurrence of {level}s in the same segment"
        else:
            frame = code_matrix(results, by=by, measure=measure, **filters)
            title = f"{measure.capitalize()} by {by} and {level}"
        _emit(frame, fmt, out_file, f"{title} — basis: {results.basis}; status: {status}")


def _emit(frame, fmt: str, out_file: Path | None, title: str) -> None:
    """Show or write a DataFrame in the requested format (atomic when written to a file)."""
    from .outputs import atomic_write

    if fmt not in ("table", "csv", "md", "xlsx"):
        raise typer.BadParameter(f"{fmt!r}; use table, csv, md or xlsx", param_hint="--format")
    if fmt == "xlsx":
        if out_file is None:
            raise typer.BadParameter("xlsx needs --out FILE", param_hint="--format")
        atomic_write(out_file, lambda tmp: frame.to_excel(tmp, engine="openpyxl"))
        out.print(f"Wrote {escape(str(out_file))}")
        return
    if fmt == "table":
        table = Table(title=escape(title))
        table.add_column(escape(str(frame.index.name or "")))
        for column in frame.columns:
            table.add_column(escape(" ".join(map(str, column)) if isinstance(column, tuple)
                                    else str(column)), justify="right")
        for label, row in frame.iterrows():
            table.add_row(escape(str(label)), *(_cell(v) for v in row))
        out.print(table)
        return
    text = frame.to_csv(lineterminator="\n") if fmt == "csv" else \
        f"{title}\n\n" + frame.to_markdown() + "\n"
    _write_text(text, out_file)


def _write_text(text: str, out_file: Path | None) -> None:
    """Text to stdout, or atomically to ``out_file``."""
    from .outputs import atomic_write

    if out_file is None:
        sys.stdout.write(text)
    else:
        atomic_write(out_file, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        out.print(f"Wrote {escape(str(out_file))}")


def _cell(value) -> str:
    if isinstance(value, float):
        if value != value:  # NaN: undefined (e.g. kappa with no variation)
            return "—"
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


@app.command()
def hypotheses(
    results_dir: ResultsDir,
    status: Annotated[str | None, typer.Option(
        help="suggested, accepted or all [default: the codebook's settings.verdict.status, else all]")
    ] = None,
    min_score: MinScoreOpt = 0.0,
    quotes: Annotated[int, typer.Option(min=0, help="Quotes per side.")] = 3,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md or json.")] = "text",
    out_file: OutFileOpt = None,
) -> None:
    """Support for each hypothesis: evidence by participant and role, quotes, and a verdict by rules.

    Example: [bold]qualcode hypotheses results/ --status accepted --format md[/bold]
    """
    from .hypotheses import hypothesis_support, to_dict, to_markdown
    from .results import load_results

    with user_errors():
        if fmt not in ("text", "md", "json"):
            raise typer.BadParameter(f"{fmt!r}; use text, md or json", param_hint="--format")
        support = hypothesis_support(load_results(results_dir), status=status, min_score=min_score,
                                     quotes=quotes)
        if fmt == "text":
            _print_hypotheses(support)
            return
        if fmt == "md":
            text = to_markdown(support)
        else:
            import json

            text = json.dumps(to_dict(support), indent=2, ensure_ascii=False) + "\n"
        _write_text(text, out_file)


def _print_hypotheses(support) -> None:
    for item in support:
        counts = item.counts
        out.rule(f"[bold]{escape(item.hypothesis_id)}[/bold] — {escape(item.verdict_label)}")
        out.print(escape(item.statement))
        out.print(f"[dim]{escape(item.basis)}[/dim]")
        out.print(escape(item.rule), soft_wrap=True)
        out.print(f"for: {counts.get('supporting_segments', 0)} segments, "
                  f"{counts.get('supporting_participants', 0)} participants · against: "
                  f"{counts.get('contradicting_segments', 0)} segments, "
                  f"{counts.get('contradicting_participants', 0)} participants")
        for title, quotes in (("for", item.quotes_for), ("against", item.quotes_against)):
            for row in quotes.itertuples():
                who = " · ".join(str(x) for x in (row.speaker, getattr(row, "role", None),
                                                  row.document_id) if x and str(x) != "nan")
                out.print(f"  {escape(f'[{title}]')} «{escape(str(row.quote))}» — {escape(who)}",
                          soft_wrap=True)


@app.command()
def kwic(
    results_dir: ResultsDir,
    term: Annotated[str, typer.Argument(help="Word or phrase to find.", show_default=False)],
    lemma: Annotated[bool, typer.Option(help="Match lemmas (finds 'formé' for 'former').")] = False,
    width: Annotated[int, typer.Option(min=10, max=400, help="Characters of context each side.")] = 50,
    by: Annotated[str | None, typer.Option(help="Sort and show by this attribute (e.g. role).")] = None,
    fmt: FormatOpt = "table",
    out_file: OutFileOpt = None,
) -> None:
    """Keyword in context: every occurrence of a word or phrase in participant speech.

    Example: [bold]qualcode kwic results/ "garantie humaine" --by role[/bold]
    """
    from .exploration import kwic as concordance
    from .results import load_results

    with user_errors():
        frame = concordance(load_results(results_dir), term, lemma=lemma, width=width, by=by)
        if fmt != "table":
            _emit(frame.set_index("segment_id"), fmt, out_file, f"KWIC: {term}")
            return
        table = Table(title=f"{len(frame)} occurrences of «{escape(term)}»")
        table.add_column("who")
        table.add_column("left", justify="right", overflow="fold")
        table.add_column("match", style="bold")
        table.add_column("right", overflow="fold")
        for row in frame.itertuples():
            who = getattr(row, by) if by else row.participant_id
            table.add_row(escape(str(who)), escape(row.left), escape(row.match), escape(row.right))
        out.print(table)


@app.command()
def freq(
    results_dir: ResultsDir,
    by: Annotated[str | None, typer.Option(help="Group by this attribute; 'none' for the corpus.")
                  ] = "role",
    top: Annotated[int, typer.Option(min=1, help="Lemmas per group.")] = 15,
    min_count: Annotated[int, typer.Option(min=1, help="Ignore rarer lemmas.")] = 2,
    fmt: FormatOpt = "table",
    out_file: OutFileOpt = None,
) -> None:
    """Most frequent content lemmas of participant speech, by group (familiarisation).

    Example: [bold]qualcode freq results/ --by role --top 10[/bold]
    """
    from .exploration import lemma_frequencies
    from .results import load_results

    with user_errors():
        group = None if by in (None, "none") else by
        frame = lemma_frequencies(load_results(results_dir), by=group, top=top, min_count=min_count)
        _emit(frame.set_index("group"), fmt, out_file, f"Lemma frequencies by {by}")


@app.command()
def review(
    results_dir: ResultsDir,
    coder: Annotated[str, typer.Option(help="Your coder name; decisions are kept per coder.",
                                       show_default=False)],
    order: Annotated[str, typer.Option(
        help="confidence (lowest score first), uncertainty (active learning), code or document.")
    ] = "confidence",
    code_id: Annotated[str | None, typer.Option("--code", help="Only suggestions of this code.")] = None,
    accept_above: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Accept every pending suggestion with at least this score, then stop.")
    ] = None,
    export_queue: Annotated[Path | None, typer.Option(
        help="Write the pending queue to .xlsx/.csv for a colleague to fill in.")] = None,
    import_file: Annotated[Path | None, typer.Option(
        "--import", help="Record the decisions of a filled queue file.")] = None,
) -> None:
    """Review suggestions: accept, reject, re-code, add, memo; quit and resume any time.

    Example: [bold]qualcode review results/ --coder alice --order confidence[/bold]
    """
    from . import review as reviewing

    with user_errors():
        if accept_above is not None:
            count = reviewing.accept_above(results_dir, accept_above, coder=coder)
            out.print(f"Accepted {count} suggestions scoring ≥ {accept_above} as {escape(coder)}")
        elif export_queue is not None:
            reviewing.export_queue(results_dir, export_queue, coder=coder, order=order)
            out.print(f"Wrote the queue to {escape(str(export_queue))}")
        elif import_file is not None:
            count = reviewing.import_decisions(results_dir, import_file, coder=coder)
            out.print(f"Recorded {count} decisions by {escape(coder)} from {escape(str(import_file))}")
        else:
            from .tui import run_review

            done = run_review(results_dir, coder=coder, order=order, code=code_id, console=out)
            out.print(f"{done['decisions']} decisions recorded, {done['skipped']} skipped, "
                      f"{done['remaining']} left in the queue.")


@app.command()
def export(
    results_dir: ResultsDir,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="docx (Word report), xlsx, csv, qdpx (REFI-QDA project) or qdc (codebook).")
    ] = "docx",
    transcripts: Annotated[Path | None, typer.Option(
        help="The transcripts folder of the run (a .qdpx carries the documents' text).")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="File (docx, xlsx) or folder (csv) [default: inside the results folder]")
    ] = None,
    status: StatusOpt = "all",
    min_score: MinScoreOpt = 0.0,
) -> None:
    """Export: a Word report, an Excel workbook, CSV tables, or REFI-QDA for NVivo, ATLAS.ti, MAXQDA.

    Example: [bold]qualcode export results/ --format docx --status accepted[/bold]
    """
    from .results import load_results

    with user_errors():
        results = load_results(results_dir)
        if fmt == "docx":
            from .report import write_report

            path = write_report(results, out_file or results_dir / "report.docx", status=status,
                                min_score=min_score)
        elif fmt == "xlsx":
            from .workbook import write_workbook

            path = write_workbook(results, out_file or results_dir / "tables.xlsx", status=status,
                                  min_score=min_score)
        elif fmt in ("qdpx", "qdc"):
            from .refi import export_qdc, export_qdpx

            if fmt == "qdc":
                path = export_qdc(results.codebook, out_file or results_dir / "codebook.qdc")
            else:
                if transcripts is None:
                    raise typer.BadParameter("a .qdpx holds the documents' text: give --transcripts",
                                             param_hint="--transcripts")
                path = export_qdpx(results, out_file or results_dir / "project.qdpx",
                                   corpus=transcripts)
        elif fmt == "csv":
            from .workbook import export_csv

            paths = export_csv(results, out_file or results_dir / "tables", status=status,
                               min_score=min_score)
            path = paths[0].parent if paths else out_file
        else:
            raise typer.BadParameter(f"{fmt!r}; use docx, xlsx, csv, qdpx or qdc", param_hint="--format")
        out.print(f"Wrote {escape(str(path))} — basis: {escape(results.basis)}; status: {status}")


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A .qdpx or .qdc from another tool.", show_default=False)],
    into: Annotated[Path, typer.Option("--into", help="Results folder to import into.", show_default=False)],
    coder: Annotated[list[str] | None, typer.Option(
        help="OLD=NEW: the file's user OLD is coder NEW (repeatable; default: same name).")] = None,
    code: Annotated[list[str] | None, typer.Option(
        help="OLD=NEW: the file's code OLD (name or GUID) is code id NEW (repeatable).")] = None,
) -> None:
    """Import codings made in QualCoder, NVivo, ATLAS.ti, MAXQDA… as decisions; a .qdc only checks codes.

    Example: [bold]qualcode import nvivo.qdpx --into results/ --coder "Alice Martin=alice"[/bold]
    """
    from .refi import import_refi

    with user_errors():
        pairs = [[v.rpartition("=")[::2] for v in values or []] for values in (coder, code)]
        if any(not old.strip() or not new.strip() for found in pairs for old, new in found):
            raise typer.BadParameter("use OLD=NEW", param_hint="--coder / --code")
        coders, codes = ({o.strip(): n.strip() for o, n in found} for found in pairs)
        report = import_refi(file, into, coders=coders, code_map=codes)
        project = report.kind == "project"
        table = Table(title=f"{escape(file.name)}: {report.recorded} decisions recorded"
                      + ("" if project else " (codebook check only: nothing changed)"))
        for header in ("coder", "added", "memos", "unchanged") if project else ("file's code", "code"):
            table.add_column(header)
        for row in ([(c, *map(str, n.values())) for c, n in report.counts.items()] if project
                    else [(name, code_id or "—") for name, code_id in report.codes]):
            table.add_row(*map(escape, row))
        out.print(table, *map(escape, report.problems()), sep="\n", soft_wrap=True)


@app.command("agreement")
def agreement_command(
    results_dir: ResultsDir,
    coders: Annotated[list[str], typer.Option(
        "--coders", help="Two or more coders (repeat the option); 'machine' = the suggestions.",
        show_default=False)],
    unit: Annotated[str, typer.Option(help="segment or document.")] = "segment",
    disagreements: Annotated[int, typer.Option(help="Show this many disagreements to discuss.")] = 10,
) -> None:
    """Agreement between coders: % agreement, Cohen's kappa and Krippendorff's alpha per code.

    Example: [bold]qualcode agreement results/ --coders alice --coders bob[/bold]
    """
    from .agreement import agreement
    from .review import coder_codings

    with user_errors():
        codings, units = coder_codings(results_dir, coders)
        if unit == "document":
            from .results import load_results

            documents = load_results(results_dir).segments.set_index("segment_id").document_id
            codings = codings.assign(document_id=codings.segment_id.map(documents))
            units = {c: sorted(set(documents[list(u)])) for c, u in units.items()}
        report = agreement(codings, coders=coders, units=units, unit=unit)
        frame = report.per_code.set_index("code_id")
        _emit(frame, "table", None, f"Agreement between {', '.join(coders)} by {unit}")
        overall = report.overall
        out.print(f"overall: {overall['units']} units, mean agreement "
                  f"{overall['mean_percent_agreement']:.1f}%, kappa {_cell(overall['cohen_kappa'])}, "
                  f"alpha {_cell(overall['krippendorff_alpha'])}")
        if disagreements and len(report.disagreements):
            out.print(report.disagreements.head(disagreements).to_string(index=False))


@app.command()
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

    Example: [bold]qualcode learn results/ --coder alice[/bold]
    """
    from .assisted import add_model_suggestions

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


@codebook_app.command("check")
def codebook_check(
    file: Annotated[Path, typer.Argument(help="Codebook YAML file.", show_default=False)],
) -> None:
    """Validate a codebook and report every problem at once, with line and key.

    Example: [bold]qualcode codebook check codebooks/ds-ia-sante.yaml[/bold]
    """
    from .codebook import load_codebook

    with user_errors():
        codebook = load_codebook(file)
        codes = codebook.codes
        out.print(f"{escape(str(file))}: ok — {len(codebook.themes)} themes, {len(codes)} codes, "
                  f"{len(codebook.hypotheses)} hypotheses")
        for note in _advice(codebook):
            out.print(f"  note: {escape(note)}")


def _advice(codebook) -> list[str]:
    """Things that are valid but weaken automatic coding."""
    notes = []
    for code in codebook.codes:
        if not code.definition:
            notes.append(f"code {code.id} has no definition")
        if not code.keywords and not code.patterns:
            notes.append(f"code {code.id} has no keywords or patterns: only similarity can find it")
        if len(code.examples) < 2:
            notes.append(f"code {code.id} has {len(code.examples)} example(s); "
                         "similarity needs a few")
    return notes


@codebook_app.command("show")
def codebook_show(
    file: Annotated[Path, typer.Argument(help="Codebook YAML file.", show_default=False)],
    definitions: Annotated[bool, typer.Option("--definitions", "-d",
                                              help="Show each code's definition.")] = False,
) -> None:
    """Show the codebook as a tree of themes and codes, then its hypotheses.

    Example: [bold]qualcode codebook show codebooks/ds-ia-sante.yaml --definitions[/bold]
    """
    from .codebook import load_codebook

    with user_errors():
        codebook = load_codebook(file)
        title = codebook.title or codebook.name
        tree = Tree(f"[bold]{escape(title)}[/bold] (version {escape(codebook.version)}, "
                    f"{codebook.language})")
        for theme in codebook.themes:
            branch = tree.add(f"[bold]{escape(theme.label)}[/bold] [dim]{theme.id}[/dim]")
            _add_codes(branch, theme.codes, definitions)
        out.print(tree)
        for hyp in codebook.hypotheses:
            out.print(f"[bold]{escape(hyp.id)}[/bold] {escape(hyp.statement)}")
            out.print("  supported by: " + escape(_evidence(hyp.supported_by)))
            out.print("  contradicted by: " + escape(_evidence(hyp.contradicted_by)))


def _add_codes(branch, codes, definitions: bool) -> None:
    for code in codes:
        counts = (f"[dim]{code.id} · {len(code.keywords)} keywords · "
                  f"{len(code.examples)} examples[/dim]")
        node = branch.add(f"{escape(code.label)} {counts}")
        if definitions and code.definition:
            node.add(f"[italic]{escape(code.definition)}[/italic]")
        _add_codes(node, code.codes, definitions)


def _evidence(items) -> str:
    return ", ".join(" + ".join(item) for item in items) or "—"


def main() -> None:
    """Console-script entry point."""
    app(prog_name="qualcode")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
