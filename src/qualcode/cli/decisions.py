"""Commands on human coders' decisions: review (terminal or spreadsheet), import, agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .common import ResultsDir, cell, emit, out, user_errors


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
    from .. import review as reviewing

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
            from ..tui import run_review

            done = run_review(results_dir, coder=coder, order=order, code=code_id, console=out)
            out.print(f"{done['decisions']} decisions recorded, {done['skipped']} skipped, "
                      f"{done['remaining']} left in the queue.")


def import_command(
    file: Annotated[Path, typer.Argument(
        help="A .qdpx or .qdc from another tool, or a .csv table of codings.", show_default=False)],
    into: Annotated[Path, typer.Option("--into", help="Results folder to import into.", show_default=False)],
    coder: Annotated[list[str] | None, typer.Option(
        help="OLD=NEW: the file's user OLD is coder NEW (repeatable; default: same name); for a "
             ".csv without a coder column, NAME: every row's coder.")] = None,
    code: Annotated[list[str] | None, typer.Option(
        help="OLD=NEW: the file's code OLD (name or GUID) is code id NEW (repeatable).")] = None,
) -> None:
    """Import codings made in QualCoder, NVivo, ATLAS.ti, MAXQDA… or a spreadsheet as decisions.

    A .qdc only checks codes.  A .csv has a code_id column and segment_id, or document_id with
    start and end, or document_id with text (the gold format of 'evaluate'), and a coder column.

    Example: [bold]qualcode import nvivo.qdpx --into results/ --coder "Alice Martin=alice"[/bold]
    """
    with user_errors():
        values = coder or []
        if file.suffix.lower() == ".csv":
            if code:
                raise typer.BadParameter("a .csv names codebook code ids: no --code", param_hint="--code")
            _import_table(file, into, values)
            return
        pairs = [[v.rpartition("=")[::2] for v in found or []] for found in (values, code)]
        if any(not old.strip() or not new.strip() for found in pairs for old, new in found):
            raise typer.BadParameter("use OLD=NEW", param_hint="--coder / --code")
        coders, codes = ({o.strip(): n.strip() for o, n in found} for found in pairs)
        from ..refi import import_refi

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


def _import_table(file: Path, into: Path, values: list[str]) -> None:
    """``qualcode import`` of a .csv table of codings (see :func:`qualcode.review.import_codings`)."""
    from ..review import import_codings

    renames = [v.partition("=") for v in values if "=" in v]
    names = [v.strip() for v in values if "=" not in v]
    if len(names) > 1 or any(not old.strip() or not new.strip() for old, _, new in renames):
        raise typer.BadParameter("use OLD=NEW, or one NAME for every row", param_hint="--coder")
    counts = import_codings(into, file, coder=names[0] if names else None,
                            coders={old.strip(): new.strip() for old, _, new in renames})
    table = Table()
    for header in ("coder", "added", "unchanged"):
        table.add_column(header)
    for who, count in counts.items():
        table.add_row(escape(who), str(count["add"]), str(count["unchanged"]))
    out.print(f"{escape(file.name)}: {sum(c['add'] for c in counts.values())} decisions recorded",
              table, sep="\n", soft_wrap=True)



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
    from ..agreement import agreement
    from ..review import coder_codings

    with user_errors():
        codings, units = coder_codings(results_dir, coders)
        if unit == "document":
            from ..results import load_results

            documents = load_results(results_dir).segments.set_index("segment_id").document_id
            codings = codings.assign(document_id=codings.segment_id.map(documents))
            units = {c: sorted(set(documents[list(u)])) for c, u in units.items()}
        report = agreement(codings, coders=coders, units=units, unit=unit)
        frame = report.per_code.set_index("code_id")
        emit(frame, "table", None, f"Agreement between {', '.join(coders)} by {unit}")
        overall = report.overall
        out.print(f"overall: {overall['units']} units, mean agreement "
                  f"{overall['mean_percent_agreement']:.1f}%, kappa {cell(overall['cohen_kappa'])}, "
                  f"alpha {cell(overall['krippendorff_alpha'])}")
        if disagreements and len(report.disagreements):
            out.print(report.disagreements.head(disagreements).to_string(index=False))
