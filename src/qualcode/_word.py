"""Word building blocks for the report: page setup, numbered captions, styled tables, quotes.

Private to :mod:`qualcode.report`; wraps python-docx so that the report's sections
read as a list of headings, paragraphs, tables and pictures.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

HEADER_FILL = "D9E2F3"
SOFT_HYPHEN = "\u00ad"
EM_CM = 0.026  # average width of a bold character, in cm per point of font size (wide fonts)
CELL_MARGIN_TWIPS = 57  # 0.1 cm left and right: narrow numeric columns keep their headers whole
MARGIN_CM = 2.2
PAGES = {"fr": (21.0, 29.7), "en": (21.59, 27.94)}  # A4, US Letter (cm)
LANGUAGE_TAGS = {"fr": "fr-FR", "en": "en-GB"}
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _element(tag: str, **attributes: str):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), value)
    return element


class Builder:
    """A python-docx ``Document`` and the counters of its numbered captions."""

    def __init__(self, language: str, table_label: str, figure_label: str) -> None:
        import docx
        from docx.shared import Cm, Pt

        self.document = docx.Document()
        self.labels = {"table": table_label, "figure": figure_label}
        self.numbers = {"table": 0, "figure": 0}
        width, height = PAGES.get(language, PAGES["en"])
        section = self.document.sections[0]
        section.page_width, section.page_height = Cm(width), Cm(height)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(MARGIN_CM))
        normal = self.document.styles["Normal"]
        normal.font.size = Pt(10.5)
        normal.paragraph_format.space_after = Pt(6)
        run_defaults = self.document.styles.element.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
        lang = run_defaults.find(f"{W}lang")
        if lang is None:
            lang = _element("w:lang")
            run_defaults.append(lang)
        lang.set(f"{W}val", LANGUAGE_TAGS.get(language, "en-GB"))  # Word's spelling and hyphenation

    # ------------------------------------------------------------------ text

    @property
    def text_width(self) -> float:
        """Width between the margins of the current section, in cm."""
        section = self.document.sections[-1]
        return (section.page_width - section.left_margin - section.right_margin) / 360000

    def title(self, title: str, subtitle: str, when: str | None) -> None:
        self.document.add_heading(title, 0)
        self.paragraph(subtitle, style="Subtitle")
        props = self.document.core_properties
        props.title, props.author, props.last_modified_by = title, "qualcode", "qualcode"
        with contextlib.suppress(TypeError, ValueError):  # no or odd run date: keep the template's
            props.created = props.modified = datetime.fromisoformat(when)

    def heading(self, text: str, level: int) -> None:
        self.document.add_heading(text, level)

    def paragraph(self, text: str, *, bold: bool = False, italic: bool = False, size: float | None = None,
                  style: str | None = None):
        from docx.shared import Pt

        paragraph = self.document.add_paragraph(style=style)
        run = paragraph.add_run(text)
        run.bold, run.italic = bold or None, italic or None
        if size:
            run.font.size = Pt(size)
        return paragraph

    def quote(self, text: str, marks: tuple[str, str], source: str) -> None:
        """A verbatim quote in its marks, kept on the page of its source line."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        quote = self.document.add_paragraph(style="Quote")
        quote.add_run(f"{marks[0]}{text}{marks[1]}")
        quote.paragraph_format.keep_with_next = True
        quote.paragraph_format.space_after = Pt(2)
        line = self.paragraph(source, size=8.5)
        line.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        line.paragraph_format.space_after = Pt(10)

    def caption(self, kind: str, text: str):
        """``Tableau 3 – text`` with the number in a SEQ field, so Word can list tables and figures."""
        self.numbers[kind] += 1
        label = self.labels[kind]
        paragraph = self.document.add_paragraph(style="Caption")
        paragraph.add_run(f"{label} ")
        for part in ("begin", f" SEQ {label} \\* ARABIC ", "separate", str(self.numbers[kind]), "end"):
            run = paragraph.add_run()
            if part in ("begin", "separate", "end"):
                run._r.append(_element("w:fldChar", fldCharType=part))
            elif part.startswith(" SEQ"):
                instruction = _element("w:instrText")
                instruction.text = part
                instruction.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                run._r.append(instruction)
            else:
                run.text = part
        paragraph.add_run(f" – {text}")
        return paragraph

    # ------------------------------------------------------------------ layout

    def section(self, *, landscape: bool) -> None:
        """Start a new page in a section of the given orientation."""
        from docx.enum.section import WD_ORIENT, WD_SECTION

        section = self.document.add_section(WD_SECTION.NEW_PAGE)
        short, long = sorted([section.page_width, section.page_height])
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = (long, short) if landscape else (short, long)

    def picture(self, stream, caption: str, width_cm: float = 16.0) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Cm

        self.document.add_picture(stream, width=Cm(min(width_cm, self.text_width)))
        holder = self.document.paragraphs[-1]
        holder.alignment = WD_ALIGN_PARAGRAPH.CENTER
        holder.paragraph_format.keep_with_next = True
        self.caption("figure", caption)

    # ------------------------------------------------------------------ tables

    def table(self, caption: str, header: list[str], rows: list[list], *, widths: list[float],
              numeric: set[int] = frozenset(), size: float = 9, together: bool = True):
        """A captioned table: shaded bold header repeated on each page, numbers right-aligned.

        A cell is a string, or ``(text, note)`` for a note on a second line in small grey.
        ``widths`` (cm) are scaled down to the text width when wider.  ``together`` keeps
        the table on one page (for tables shorter than a page); the header row always
        stays with the first body row.
        """
        self.caption("table", caption).paragraph_format.keep_with_next = True
        table = self.document.add_table(rows=1 + len(rows), cols=len(header))
        table.style = self.document.styles["Table Grid"]
        table.autofit = False
        margins = _element("w:tblCellMar")
        for side in ("left", "right"):
            margins.append(_element(f"w:{side}", w=str(CELL_MARGIN_TWIPS), type="dxa"))
        properties = table._tbl.tblPr
        look = properties.find(f"{W}tblLook")  # the schema wants tblCellMar before tblLook
        if look is None:
            properties.append(margins)
        else:
            look.addprevious(margins)
        for index, width in enumerate(self._fit(widths, header, numeric, size)):
            self._width(table, index, width)
        for row_index, values in enumerate([header, *rows]):
            row = table.rows[row_index]
            self._row(row, header=row_index == 0)
            keep = row_index == 0 or (together and row_index < len(rows))
            for column, value in enumerate(values):
                self._cell(row.cells[column], value, size, header=row_index == 0,
                           right=column in numeric, keep=keep)
        return table

    def _fit(self, widths: list[float], header: list[str], numeric: set[int], size: float) -> list[float]:
        """Numeric columns at least as wide as their header's longest word; text columns share the rest."""
        def need(label: str) -> float:
            words = str(label).replace(SOFT_HYPHEN, "- ").split()
            return max(map(len, words), default=1) * size * EM_CM + 2 * CELL_MARGIN_TWIPS / 567 + 0.1

        widths = [max(w, need(header[i])) if i in numeric else w for i, w in enumerate(widths)]
        fixed = sum(w for i, w in enumerate(widths) if i in numeric)
        flexible = sum(widths) - fixed
        scale = min(1.0, (self.text_width - fixed) / flexible) if flexible else 1.0
        return [w if i in numeric else w * scale for i, w in enumerate(widths)]

    @staticmethod
    def _width(table, index: int, cm: float) -> None:
        from docx.shared import Cm

        table.columns[index].width = Cm(cm)
        for cell in table.columns[index].cells:
            cell.width = Cm(cm)

    @staticmethod
    def _row(row, header: bool) -> None:
        properties = row._tr.get_or_add_trPr()
        properties.append(_element("w:cantSplit"))
        if header:
            properties.append(_element("w:tblHeader"))

    @staticmethod
    def _cell(cell, value, size: float, *, header: bool, right: bool, keep: bool) -> None:
        from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml.ns import qn
        from docx.shared import Pt, RGBColor

        text, note = value if isinstance(value, tuple) else (value, None)
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.paragraph_format.keep_with_next = keep or None
        if right:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for index, part in enumerate(str(text).split(SOFT_HYPHEN)):
            run = paragraph.add_run(part)
            run.font.size, run.bold = Pt(size), header or None
            if index:  # Word's own optional hyphen, not the character
                text_element = run._r.find(qn("w:t"))
                position = len(run._r) if text_element is None else run._r.index(text_element)
                run._r.insert(position, _element("w:softHyphen"))
        if note:
            small = paragraph.add_run(f"\n{note}")
            small.font.size, small.font.color.rgb = Pt(size - 1.5), RGBColor(0x59, 0x59, 0x59)
        if header:
            cell._tc.get_or_add_tcPr().append(_element("w:shd", val="clear", color="auto",
                                                       fill=HEADER_FILL))
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM

    @staticmethod
    def merge_runs(table, column: int, keys: list) -> None:
        """Merge the cells of ``column`` over consecutive body rows with the same key."""
        start = 0
        for index in range(1, len(keys) + 1):
            if index == len(keys) or keys[index] != keys[start]:
                if index - start > 1:
                    for row in range(start + 2, index + 1):  # empty cells merge without a trace
                        paragraph = table.cell(row, column).paragraphs[0]._p
                        for run in paragraph.r_lst:
                            paragraph.remove(run)
                    table.cell(start + 1, column).merge(table.cell(index, column))
                start = index
