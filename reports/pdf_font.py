"""The PDF report's typeface: Noto Sans CJK SC, found on the system and embedded as a subset.

reportlab embeds only TrueType outlines, and Noto CJK (Debian's fonts-noto-cjk) ships
PostScript (CFF) outlines, so the characters a report uses are cut out with fontTools and
their curves converted to TrueType's quadratic ones: a few hundred glyphs, well under a
second, and the same characters give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as ReportlabFont

FAMILY = "Noto Sans CJK SC"  # simplified Chinese forms; also has `·` and Latin
FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")
FOLDERS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
)
MISSING = "〓"  # the typesetter's mark for a character without a glyph (缺字)
MAX_ERROR = 1.0  # font units (of 1000 per em): the quadratic curves' largest deviation


class MissingFontError(RuntimeError):
    """No usable CJK font: the message says what to install or set."""


@dataclass(frozen=True)
class Face:
    """One face of a font file (a face of a collection, or the file's only one)."""

    path: Path
    index: int
    covered: frozenset[int]  # the code points it has glyphs for

    def fit(self, text: str) -> str:
        """The text with each character the face lacks replaced by ``MISSING``."""
        if all(ord(c) in self.covered for c in text):
            return text
        return "".join(c if ord(c) in self.covered or c in "\n\t" else MISSING for c in text)

    def register(self, characters: str) -> str:
        """Register the subset for ``characters`` with reportlab; returns its font name,
        which names its content, so a report made again reuses it."""
        used = "".join(sorted(set(characters) | set(MISSING)))
        digest = hashlib.sha256(f"{self.path.name}:{self.index}:{used}".encode()).hexdigest()
        name = f"NotoSansCJKsc-{digest[:10]}"
        if name not in pdfmetrics.getRegisteredFontNames():
            data = truetype_subset(self, used, name)
            pdfmetrics.registerFont(ReportlabFont(name, io.BytesIO(data)))
        return name


def find_font(path: Path | None = None) -> Face:
    """Noto Sans CJK SC from ``path`` or the usual font folders; MissingFontError if none."""
    candidates = [path] if path else [f for d in FOLDERS for n in FILES for f in d.rglob(n)]
    for candidate in candidates:
        if candidate.is_file():
            return _face(candidate.resolve())
    where = f"{path} does not exist" if path else "no Noto Sans CJK font is installed"
    raise MissingFontError(
        f"the PDF report needs a CJK font, and {where}. Install Debian's fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk), or set CCWATCH_REPORT_FONT to a Noto Sans CJK "
        ".ttc or .otf file."
    )


@cache
def _face(path: Path) -> Face:
    """The face named ``FAMILY`` in a collection, else the file's first face."""
    try:
        fonts = (
            TTCollection(path, lazy=True).fonts
            if path.suffix.lower() in (".ttc", ".otc")
            else [TTFont(path, lazy=True)]
        )
    except Exception as e:  # fontTools raises assorted errors on a file that is no font
        raise MissingFontError(f"{path} is not a font file fontTools can read: {e}") from e
    index = next(
        (i for i, f in enumerate(fonts) if f["name"].getDebugName(1) == FAMILY),
        0,
    )
    cmap = fonts[index].getBestCmap()
    if ord("中") not in cmap:
        raise MissingFontError(f"{path} has no Chinese glyphs: give a Noto Sans CJK font")
    return Face(path, index, frozenset(cmap))


def truetype_subset(face: Face, characters: str, name: str) -> bytes:
    """The face cut down to ``characters``, with TrueType outlines, named ``name``."""
    font = TTFont(face.path, fontNumber=face.index, lazy=False)
    options = subset.Options()
    options.layout_features = []  # no shaping: reportlab sets one glyph per character
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    options.hinting = False
    cutter = subset.Subsetter(options)
    cutter.populate(text=characters)
    cutter.subset(font)
    if "CFF " in font:
        _to_truetype_outlines(font)
    for record in font["name"].names:
        if record.nameID in (4, 6):  # full and PostScript name: what the PDF calls it
            record.string = name
    out = io.BytesIO()
    font.recalcTimestamp = False  # the same characters, the same bytes
    font.save(out)
    return out.getvalue()


def _to_truetype_outlines(font: TTFont) -> None:
    """Replace a font's cubic CFF outlines with quadratic TrueType ones, in place."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for glyph_name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[glyph_name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
        glyf.glyphs[glyph_name] = pen.glyph()
    for table in ("CFF ", "VORG"):
        if table in font:
            del font[table]
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    font["head"].glyphDataFormat = 0
    font["post"].formatType = 3.0  # no glyph names
    font.sfntVersion = "\x00\x01\x00\x00"
