"""The Newsis parser against the reference examples, the fixture set, and pages not articles."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.parsers import NotAnArticle, ParseError
from crawler.publishers import parse_article
from crawler.publishers.newsis.parser import NewsisParser2017, NewsisParser2023, parser_for
from tests.support.paths import NEWSIS_EXAMPLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "newsis"
SEED_URL = "https://www.newsis.com/view/NISX20241115_0002960118"
UNCOMPARED = ("parser_version", "content_hash")


def _compared(record) -> dict:
    data = record.to_dict()
    for key in UNCOMPARED:
        data.pop(key)
    return data


def _example_names(expect: str) -> list[str]:
    names = []
    for meta in sorted(NEWSIS_EXAMPLES.glob("*.meta.json")):
        if json.loads(meta.read_text(encoding="utf-8"))["expect"] == expect:
            names.append(meta.name.removesuffix(".meta.json"))
    return names


def _seed() -> str:
    return (NEWSIS_EXAMPLES / "seed-l3.html").read_text(encoding="utf-8")


def test_examples_are_present():
    assert len(_example_names("record")) >= 3 and _example_names("error")


@pytest.mark.parametrize("name", _example_names("record"))
def test_example_page_gives_its_json(name):
    meta = json.loads((NEWSIS_EXAMPLES / f"{name}.meta.json").read_text(encoding="utf-8"))
    record = parse_article((NEWSIS_EXAMPLES / f"{name}.html").read_bytes(), meta["url"])
    expected = json.loads((NEWSIS_EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    assert _compared(record) == expected


@pytest.mark.parametrize("name", _example_names("error"))
def test_example_error_page_is_not_an_article(name):
    meta = json.loads((NEWSIS_EXAMPLES / f"{name}.meta.json").read_text(encoding="utf-8"))
    with pytest.raises(NotAnArticle):
        parse_article((NEWSIS_EXAMPLES / f"{name}.html").read_bytes(), meta["url"])


def _fixture_names() -> list[str]:
    return sorted(path.name.removesuffix(".html.gz") for path in FIXTURES.glob("*.html.gz"))


def test_fixture_set_has_at_least_twenty_pages():
    assert len(_fixture_names()) >= 20


@pytest.mark.parametrize("name", _fixture_names())
def test_fixture_page_gives_its_json(name):
    meta = json.loads((FIXTURES / f"{name}.meta.json").read_text(encoding="utf-8"))
    body = gzip.decompress((FIXTURES / f"{name}.html.gz").read_bytes())
    record = parse_article(body, meta["url"], datetime.fromisoformat(meta["fetched_at"]))
    expected = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert _compared(record) == expected


def test_times_are_kst_aware_and_serialise_with_offset():
    record = parse_article(_seed().encode(), SEED_URL)
    assert record.published_at.utcoffset().total_seconds() == 9 * 3600
    assert record.to_dict()["published_at"] == "2024-11-15T06:30:00+09:00"


def test_every_record_carries_its_parser_version():
    record = parse_article(_seed(), SEED_URL)
    assert record.parser_version == NewsisParser2023.VERSION
    assert record.to_dict()["parser_version"] == "newsis-2023.1"


def test_str_and_bytes_bodies_give_the_same_record():
    assert parse_article(_seed(), SEED_URL) == parse_article(_seed().encode(), SEED_URL)


def test_text_is_unescaped_once_as_a_reader_sees_it():
    # RECORD.md § Text: entities decoded, once. A page that writes `&amp;lt;` shows `&lt;`.
    page = (
        _seed()
        .replace("손정의 불러들인 이유는?", "손정의 불러들인 &amp;lt;이유&amp;gt;는?")
        .replace("손정의 회장 무대로 불러", "손정의 회장 &amp;amp; 무대로 불러")
        .replace("세계적 수준의", "세계적 &amp;quot;수준&amp;quot;의 &lt;b&gt;")
        .replace("첨단 AI 슈퍼컴퓨팅", "첨단 AI &amp;#x27;슈퍼컴퓨팅&amp;#x27;")
    )
    record = parse_article(page, SEED_URL)
    assert record.headline.endswith("손정의 불러들인 &lt;이유&gt;는?")
    assert record.subheadlines[1] == "일본서 AI 서밋 열고, 손정의 회장 &amp; 무대로 불러"
    assert sum("세계적 &quot;수준&quot;의 <b> 메카트로닉스" in p for p in record.body) == 1
    assert "첨단 AI &#x27;슈퍼컴퓨팅&#x27; 플랫폼" in record.captions[0].text


def test_html5_named_entities_are_decoded():
    # lxml ≥ 6 (libxml2 2.14) decodes the whole HTML5 entity table, as browsers do; an older
    # libxml2 knows only HTML 4's and would leave `&lbrack;` in the text.
    page = _seed().replace("세계적 수준의", "세계적&lbrack;1&rbrack; 수준의&NewLine;")
    record = parse_article(page, SEED_URL)
    assert sum("세계적[1] 수준의 메카트로닉스" in p for p in record.body) == 1


def test_capture_time_picks_the_parser_version():
    assert isinstance(parser_for(datetime(2019, 3, 4, tzinfo=UTC)), NewsisParser2017)
    assert type(parser_for(datetime(2019, 3, 4, tzinfo=UTC))) is NewsisParser2017
    assert type(parser_for(datetime(2024, 11, 15, tzinfo=UTC))) is NewsisParser2023
    assert type(parser_for(None)) is NewsisParser2023


def test_capture_day_is_counted_in_kst():
    # 2022-12-31 16:00 UTC is already 2023-01-01 in Seoul, the current layout's first day.
    assert type(parser_for(datetime(2022, 12, 31, 16, 0, tzinfo=UTC))) is NewsisParser2023
    assert type(parser_for(datetime(2022, 12, 31, 14, 0, tzinfo=UTC))) is NewsisParser2017


def test_older_version_does_not_read_the_current_design():
    with pytest.raises(NotAnArticle, match="no headline"):
        parse_article(_seed(), SEED_URL, datetime(2019, 1, 1, tzinfo=UTC))


def _not_an_article(body, url=SEED_URL) -> str:
    with pytest.raises(NotAnArticle) as caught:
        parse_article(body, url)
    assert "\n" not in caught.value.reason
    assert isinstance(caught.value, ParseError)
    return caught.value.reason


def test_empty_page_is_not_an_article():
    assert _not_an_article(b"") == "empty page"
    assert _not_an_article(b"  \n ") == "empty page"


def test_page_with_nul_bytes_is_binary():
    assert "binary" in _not_an_article(_seed().encode() + b"\x00\x01")


def test_page_with_over_one_percent_undecodable_bytes_is_binary():
    page = _seed().encode()
    garbage = b"\xff" * (len(page) // 50)
    assert "binary" in _not_an_article(page[:2000] + garbage + page[2000:])


def test_a_few_undecodable_bytes_do_not_reject_the_page():
    page = _seed().encode().replace(b"<article itemprop", b"\xff<article itemprop")
    assert parse_article(page, SEED_URL).headline


def test_truncated_page_is_not_an_article():
    page = _seed().encode()
    assert "truncated" in _not_an_article(page[: len(page) * 2 // 3])


def test_error_url_is_not_an_article():
    assert "error" in _not_an_article(_seed(), "https://www.newsis.com/error/")


def test_page_without_headline_is_not_an_article():
    page = _seed().replace('class="tit title_area">', 'class="tit">')
    assert _not_an_article(page) == "no headline"


def test_page_without_registration_time_is_not_an_article():
    page = _seed().replace("등록 2024.11.15 06:30:00", "").replace("article:published_time", "x")
    assert _not_an_article(page) == "no registration time"


def test_meta_published_time_stands_in_for_the_page_time():
    page = _seed().replace("등록 2024.11.15 06:30:00", "")
    assert parse_article(page, SEED_URL).published_at.isoformat() == "2024-11-15T06:30:00+09:00"


def test_page_without_body_is_not_an_article():
    marker = '<article itemprop="articleBody">'
    start = _seed().index(marker) + len(marker)
    end = _seed().index("</article>")
    assert _not_an_article(_seed()[:start] + _seed()[end:]) == "no body"


def test_photo_item_without_caption_is_not_an_article():
    page = (NEWSIS_EXAMPLES / "photo-item.html").read_text(encoding="utf-8")
    page = page.replace('<p class="photojournal">', '<p class="x">').replace("<img src=", "<i src=")
    url = "https://www.newsis.com/view/NISI20241114_0020593301"
    assert _not_an_article(page, url) == "photo item without caption"


def test_page_over_five_megabytes_is_not_an_article():
    page = _seed().replace("</body>", "<!--" + "x" * (5 * 1024 * 1024) + "--></body>")
    assert _not_an_article(page.encode()) == "page too large"


def test_page_without_any_article_id_is_not_an_article():
    page = _seed().replace("NISX20241115_0002960118", "nothing")
    assert "no article id" in _not_an_article(page, "https://www.newsis.com/view/")


def test_deep_nesting_does_not_crash_the_parser():
    marker = '<article itemprop="articleBody">'
    page = _seed().replace(marker, marker + "<div><span>" * 100_000)
    try:
        record = parse_article(page, SEED_URL)
    except NotAnArticle:
        return
    assert record.headline
