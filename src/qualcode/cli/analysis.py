"""Commands that read a results folder: matrix, hypotheses, kwic, freq and export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .common import ResultsDir, emit, out, user_errors, write_text

StatusOpt = Annotated[str, typer.Option(
    help="Which codings count: suggested, accepted (human-validated) or all (not rejected).")]
MinScoreOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="Ignore codings below this score.")]
ThemeOpt = Annotated[list[str] | None, typer.Option("--theme", help="Only these themes (repeatable).")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv, md or xlsx.")]
OutFileOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")]


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
    from ..matrices import code_matrix, cooccurrence
    from ..results import load_results

    with user_errors():
        results = load_results(results_dir)
        filters = {"status": status, "min_score": min_score, "themes": theme, "level": level}
        if by == "code":
            frame, _ = cooccurrence(results, **filters)
            title = f"Co-occurrence of {level}s in the same segment"
        else:
            frame = code_matrix(results, by=by, measure=measure, **filters)
            title = f"{measure.capitalize()} by {by} and {level}"
        emit(frame, fmt, out_file, f"{title} — basis: {results.basis}; status: {status}")


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
    from ..hypotheses import hypothesis_support, to_dict, to_markdown
    from ..results import load_results

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
        write_text(text, out_file)


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
    from ..exploration import kwic as concordance
    from ..results import load_results

    with user_errors():
        frame = concordance(load_results(results_dir), term, lemma=lemma, width=width, by=by)
        if fmt != "table":
            emit(frame.set_index("segment_id"), fmt, out_file, f"KWIC: {term}")
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
    from ..exploration import lemma_frequencies
    from ..results import load_results

    with user_errors():
        group = None if by in (None, "none") else by
        frame = lemma_frequencies(load_results(results_dir), by=group, top=top, min_count=min_count)
        emit(frame.set_index("group"), fmt, out_file, f"Lemma frequencies by {by}")


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
    from ..results import load_results

    with user_errors():
        results = load_results(results_dir)
        if fmt == "docx":
            from ..report import write_report

            path = write_report(results, out_file or results_dir / "report.docx", status=status,
                                min_score=min_score)
        elif fmt == "xlsx":
            from ..workbook import write_workbook

            path = write_workbook(results, out_file or results_dir / "tables.xlsx", status=status,
                                  min_score=min_score)
        elif fmt in ("qdpx", "qdc"):
            from ..refi import export_qdc, export_qdpx

            if fmt == "qdc":
                path = export_qdc(results.codebook, out_file or results_dir / "codebook.qdc")
            else:
                if transcripts is None:
                    raise typer.BadParameter("a .qdpx holds the documents' text: give --transcripts",
                                             param_hint="--transcripts")
                path = export_qdpx(results, out_file or results_dir / "project.qdpx",
                                   corpus=transcripts)
        elif fmt == "csv":
            from ..workbook import export_csv

            paths = export_csv(results, out_file or results_dir / "tables", status=status,
                               min_score=min_score)
            path = paths[0].parent if paths else out_file
        else:
            raise typer.BadParameter(f"{fmt!r}; use docx, xlsx, csv, qdpx or qdc", param_hint="--format")
        out.print(f"Wrote {escape(str(path))} — basis: {escape(results.basis)}; status: {status}")
