"""The monthly report as charts, HTML and PDF, from a report built by hand (no database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from models.localtime import month_span
from register.stats import Term, count
from reports.charts import distribution_png, distribution_svg, trend_png, trend_svg
from reports.pdf_font import MissingFontError
from reports.render_html import render_html
from reports.render_pdf import render_pdf
from reports.report import EntryLine, GroupSummary, MonthlyReport, RecLine, SubjectReport

RULESET = "shengsi-points@2026.1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def entry(n: int, day: int, rule: str, delta: int, zh: str, en: str) -> EntryLine:
    return EntryLine(
        f"pe-{n}",
        f"2026-11-{day:02d}T09:{n:02d}:00+08:00",
        rule,
        1,
        RULESET,
        delta,
        zh,
        en,
        (f"chk-{n}", f"loc-{n}"),
    )


def sample_report() -> MonthlyReport:
    warning = RecLine(
        "rec-1",
        "warning",
        "proposed",
        "本月扣分超过10分，拟予警告",
        "Lost over 10 points",
        None,
        None,
    )
    subjects = (
        SubjectReport(
            "SS-0001",
            "张三",
            "caiyuan",
            "east",
            "normal",
            12,
            (
                entry(1, 3, "checkin.on_time", 1, "按时报到", "Checked in on time"),
                entry(2, 9, "geofence.exit", -5, "擅自离开舟山<市>", "Left the county <alone>"),
            ),
            (),
        ),
        SubjectReport(
            "SS-0002",
            "李四",
            "caiyuan",
            "east",
            "strict",
            -3,
            (entry(3, 5, "checkin.missed", -12, "未按时报到", "Missed a check-in"),),
            (warning,),
        ),
        SubjectReport("SS-0003", "王五", "gouqi", "west", "lenient", 40, (), ()),
    )
    office = GroupSummary("caiyuan", "菜园司法所", 2, -8.0, -12, -4, {"warning": 1})
    zone_east = GroupSummary("east", "东部", 2, -8.0, -12, -4, {"warning": 1})
    zone_west = GroupSummary("west", "西部", 1, 0.0, 0, 0, {})
    gouqi = GroupSummary("gouqi", "枸杞司法所", 1, 0.0, 0, 0, {})
    return MonthlyReport(
        "2026-11",
        "all",
        subjects,
        (office, gouqi),
        (zone_east, zone_west),
        (("2026-09", 2.5), ("2026-10", -1.0), ("2026-11", -5.33)),
        {"caiyuan": "菜园司法所", "gouqi": "枸杞司法所"},
        count(
            [
                Term("SS-0001", "caiyuan", "east", "probation", date(2026, 1, 5), date(2027, 1, 4)),
                Term("SS-0002", "caiyuan", "east", "parole", date(2026, 11, 30), date(2027, 5, 1)),
                Term("SS-0003", "gouqi", "west", "probation", date(2025, 3, 1), date(2026, 11, 9)),
                Term(
                    "SS-9",
                    "gouqi",
                    "west",
                    "control",
                    date(2025, 3, 1),
                    date(2026, 11, 4),
                    "revoked",
                ),
            ],
            month_span("2026-11"),
            office_names={"caiyuan": "菜园司法所", "gouqi": "枸杞司法所"},
        ),
    )


REPORT = sample_report()


def test_html_shows_title_subjects_signed_deltas_and_charts() -> None:
    html = render_html(REPORT)
    assert "月度计分考核报告" in html and "Monthly points report" in html
    for s in REPORT.subjects:
        assert f"<h2>{s.subject_id} {s.name}</h2>" in html
    assert ">+1<" in html and ">-5<" in html and ">-12<" in html
    assert html.count("<svg") == 2 and "<?xml" not in html
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the two inline charts share no id
    assert "擅自离开舟山&lt;市&gt;" in html  # autoescaped
    assert "菜园司法所 caiyuan" in html and "警告 warning" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    assert "ccwatch monthly points report 2026-11 (all)" in html


def test_html_shows_the_register_of_the_month() -> None:
    html = render_html(REPORT)
    section = html[html.index("在册情况") : html.index("司法所汇总")]
    assert "2026-11-30 在册 2 人 = 期初 3 + 接收 1 - 解矫 2" in section
    assert section.count('<table class="register">') == 3  # by type, office and zone
    assert "<td>枸杞司法所 gouqi</td>" + "".join(
        f'<td class="num">{n}</td>' for n in (2, 0, 1, 1, 0, 0, 2, 0)
    ) in section.replace("\n", "")
    assert '<tr class="total"><td>合计 Total</td><td class="num">3</td>' in section


def test_html_is_the_same_every_time() -> None:
    assert render_html(REPORT) == render_html(sample_report())


@pytest.mark.parametrize("chart", [distribution_svg, trend_svg, distribution_png, trend_png])
def test_charts_are_deterministic(chart: object) -> None:
    assert callable(chart)
    first, second = chart(REPORT), chart(sample_report())
    assert first == second and len(first) > 1000
    assert b"Matplotlib v" not in first and b"dc:date" not in first


def test_charts_cope_with_an_empty_report() -> None:
    empty = MonthlyReport("2026-11", "zone west", (), (), (), ())
    assert trend_svg(empty).count(b"<svg") == 1 and distribution_png(empty)
    assert "无数据 No data" in render_html(empty)


def _text(pdf: Path) -> str:
    """The text of every page as a PDF reader extracts it, each run of space one space."""
    reader = PdfReader(pdf)
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _fonts(pdf: Path) -> Iterator[tuple[str, DictionaryObject]]:
    """Every font the pages use, with its descriptor (a Type 0 font's is its descendant's)."""
    for page in PdfReader(pdf).pages:
        fonts = page["/Resources"].get_object()["/Font"].get_object()  # type: ignore[index]
        assert isinstance(fonts, DictionaryObject)
        for ref in fonts.values():
            font = ref.get_object()
            if font["/Subtype"] == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            yield str(font["/BaseFont"]), font.get("/FontDescriptor", DictionaryObject())


def test_pdf_is_deterministic_and_shows_every_subject(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    render_pdf(REPORT, first)
    render_pdf(sample_report(), second)
    data = first.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    assert data == second.read_bytes()
    text = _text(first)
    for s in REPORT.subjects:
        assert f"{s.subject_id} {s.name}" in text  # the heading: id, then the name
    assert "checkin.missed@1" in text and "-12" in text and "+1" in text
    assert "Register" in text
    assert text.count("Revoked") == 3  # the register by type, office and zone


def test_pdf_text_reads_back_as_the_report_wrote_it(tmp_path: Path) -> None:
    pdf = tmp_path / "r.pdf"
    render_pdf(REPORT, pdf)
    text = _text(pdf)
    assert "月度计分考核报告" in text and "月份 Month: 2026-11 · 范围 Scope:" in text
    for name in ("张三", "李四", "王五", "菜园司法所", "枸杞司法所", "擅自离开舟山<市>"):
        assert name in text, name
    assert "本月扣分超过10分，拟予警告" in text and "第 1 页 Page 1" in text
    assert "ccwatch monthly points report 2026-11 (all)" in text
    assert "\ufffd" not in text and "〓" not in text  # every character has its glyph


def test_pdf_embeds_every_font_it_uses(tmp_path: Path) -> None:
    pdf = tmp_path / "r.pdf"
    render_pdf(REPORT, pdf)
    fonts = list(_fonts(pdf))
    assert fonts
    for name, descriptor in fonts:
        assert "NotoSansCJK" in name, name
        assert {"/FontFile2", "/FontFile3"} & set(descriptor), f"{name} is not embedded"


def test_pdf_page_one_renders_with_chinese(tmp_path: Path) -> None:
    """Page 1 as a PNG in test-artifacts/ (to look at): ink on the page, not a blank."""
    pdf = tmp_path / "r.pdf"
    render_pdf(REPORT, pdf)
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "report-page-1.png"
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=1.5).to_pil()
        image.save(png)
    finally:
        document.close()
    greys = image.convert("L").histogram()
    assert sum(greys[:128]) > 5_000  # dark pixels: text, lines and charts


def test_a_character_the_font_lacks_is_marked_not_a_box(tmp_path: Path) -> None:
    lacking = "\U00017000"  # a Tangut character: no CJK font has it
    report = replace(
        REPORT, subjects=(replace(REPORT.subjects[0], name=f"张{lacking}"), *REPORT.subjects[1:])
    )
    pdf = tmp_path / "r.pdf"
    assert render_pdf(report, pdf) == {lacking}
    assert "SS-0001 张〓" in _text(pdf)


def test_no_cjk_font_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingFontError, match="fonts-noto-cjk"):
        render_pdf(REPORT, tmp_path / "r.pdf", font=tmp_path / "no-such-font.ttc")
    assert not (tmp_path / "r.pdf").exists()
