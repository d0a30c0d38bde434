"""The Yonhap parser against its reference examples, and the pages that are no Yonhap article."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawler.parsers import NotAnArticle, ParseError
from crawler.publishers.yonhap.parser import (
    PARSERS,
    YonhapParserY2,
    YonhapParserY3,
    parser_for,
)
from tests.support.paths import YONHAP_EXAMPLES

UNCOMPARED = ("parser_version", "content_hash")
Y3_URL = "https://www.yna.co.kr/view/AKR20260716091200003?input=1195m"
Y2_URL = "http://www.yna.co.kr/view/AKR20221118004500071?input=1195m"
PHOTO_URL = "https://www.yna.co.kr/view/PYH20260716112400013?input=1196m"
# A capture time in each design's years.
IN_Y2 = datetime(2022, 11, 18, 1, 0, tzinfo=UTC)
IN_Y3 = datetime(2026, 7, 16, 6, 0, tzinfo=UTC)


def _compared(record) -> dict:
    data = record.to_dict()
    for key in UNCOMPARED:
        data.pop(key)
    return data


def _names(expect: str) -> list[str]:
    return [
        meta.name.removesuffix(".meta.json")
        for meta in sorted(YONHAP_EXAMPLES.glob("*.meta.json"))
        if json.loads(meta.read_text(encoding="utf-8"))["expect"] == expect
    ]


def _page(name: str) -> str:
    return (YONHAP_EXAMPLES / f"{name}.html").read_text(encoding="utf-8")


def _parse(page: str | bytes, url: str = Y3_URL, fetched_at: datetime | None = None):
    return parser_for(fetched_at).parse(page, url)


def test_examples_are_present():
    assert _names("record") == ["photo-item", "y2-article", "y3-article"]
    assert _names("error") == ["not-found"]


@pytest.mark.parametrize("fetched_at", [None, IN_Y2, IN_Y3], ids=["latest", "in-y2", "in-y3"])
@pytest.mark.parametrize("name", _names("record"))
def test_example_page_gives_its_json(name, fetched_at):
    meta = json.loads((YONHAP_EXAMPLES / f"{name}.meta.json").read_text(encoding="utf-8"))
    record = _parse((YONHAP_EXAMPLES / f"{name}.html").read_bytes(), meta["url"], fetched_at)
    expected = json.loads((YONHAP_EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    assert _compared(record) == expected


@pytest.mark.parametrize("name", _names("error"))
def test_example_error_page_is_not_an_article(name):
    meta = json.loads((YONHAP_EXAMPLES / f"{name}.meta.json").read_text(encoding="utf-8"))
    with pytest.raises(NotAnArticle, match="error page"):
        _parse((YONHAP_EXAMPLES / f"{name}.html").read_bytes(), meta["url"])


def test_capture_time_picks_the_parser_version():
    assert type(parser_for(IN_Y2)) is YonhapParserY2
    assert type(parser_for(datetime(2024, 12, 31, 14, 59, tzinfo=UTC))) is YonhapParserY2
    assert type(parser_for(datetime(2024, 12, 31, 15, 0, tzinfo=UTC))) is YonhapParserY3
    assert type(parser_for(None)) is YonhapParserY3
    assert [type(parser) for parser in PARSERS] == [YonhapParserY2, YonhapParserY3]


def test_every_record_carries_its_source_and_parser_version():
    record = _parse(_page("y3-article"), Y3_URL, IN_Y3)
    assert (record.source, record.parser_version) == ("yonhap", "yonhap-y3.1")
    assert _parse(_page("y3-article"), Y3_URL, IN_Y2).parser_version == "yonhap-y2.1"


def test_str_and_bytes_bodies_give_the_same_record():
    assert _parse(_page("y2-article"), Y2_URL) == _parse(_page("y2-article").encode(), Y2_URL)


def test_the_id_comes_from_the_canonical_link_when_the_url_holds_none():
    record = _parse(_page("y3-article"), "https://www.yna.co.kr/news/1")
    assert record.article_id == "AKR20260716091200003"


@pytest.mark.parametrize(
    "url",
    [
        "https://m.yna.co.kr/amp/view/AKR20260716091200003",
        "//www.yna.co.kr/view/AKR20260716091200003?section=news",
        "http://127.0.0.1:8301/view/AKR20260716091200003",
    ],
)
def test_any_url_form_gives_the_canonical_record(url):
    record = _parse(_page("y3-article"), url)
    assert record.url == "https://www.yna.co.kr/view/AKR20260716091200003"


# --- refusals: RECORD.md § Photo items, errors, versions ------------------------------------------


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00", b"<html>"])
def test_empty_binary_or_unclosed_pages_are_refused(body):
    with pytest.raises(NotAnArticle):
        _parse(body)


def test_a_truncated_page_is_refused():
    page = _page("y3-article")
    with pytest.raises(NotAnArticle, match="truncated"):
        _parse(page[: page.index("<p>정부는 폭염이")])


def test_a_page_of_another_type_is_refused():
    for cid in ("AEN20260716000300315", "GYH20260716000300044", "MYH20260716011200641"):
        page = _page("y3-article").replace("AKR20260716091200003", cid)
        with pytest.raises(NotAnArticle, match=cid[:3]):
            _parse(page, f"https://www.yna.co.kr/view/{cid}")


def test_a_page_that_is_another_article_is_refused():
    with pytest.raises(ParseError, match="AKR20260716091200003, not AKR20260716091200099"):
        _parse(_page("y3-article"), "https://www.yna.co.kr/view/AKR20260716091200099")


def test_no_id_anywhere_is_refused():
    page = _page("y3-article").replace("AKR20260716091200003", "")
    with pytest.raises(NotAnArticle, match="no article id"):
        _parse(page, "https://www.yna.co.kr/news/1")


def test_no_headline_is_refused():
    page = _page("y3-article").replace('<h1 class="tit01">', '<h1 class="tit01" hidden>')
    with pytest.raises(NotAnArticle, match="no headline"):
        _parse(page)


def test_no_time_is_refused():
    page = (
        _page("y3-article")
        .replace('data-published-time="2026-07-16 14:32"', "")
        .replace("2026-07-16 14:32</p>", "</p>")
        .replace('<meta property="article:published_time"', '<meta property="x"')
    )
    with pytest.raises(NotAnArticle, match="no publication time"):
        _parse(page)


def test_the_shown_time_then_the_meta_time_stand_in_for_the_data_attribute():
    page = _page("y3-article").replace('data-published-time="2026-07-16 14:32"', "")
    assert _parse(page).published_at.isoformat() == "2026-07-16T14:32:00+09:00"
    page = page.replace("2026-07-16 14:32</p>", "</p>").replace(
        'content="2026-07-16T14:32:00+09:00"', 'content="2026-07-16T14:40:00"'
    )
    assert _parse(page).published_at.isoformat() == "2026-07-16T14:40:00+09:00"


def test_an_update_time_would_be_the_modification_time():
    page = _page("y3-article").replace(
        "2026-07-16 14:32</p>", "2026-07-16 14:32 업데이트 2026-07-16 15:10</p>"
    )
    assert _parse(page).modified_at.isoformat() == "2026-07-16T15:10:00+09:00"


def test_an_impossible_time_is_refused_with_its_reason():
    page = _page("y3-article").replace("2026-07-16 14:32", "2026-13-16 14:32")
    with pytest.raises(ParseError, match="not a real time"):
        _parse(page)


def test_a_text_article_without_paragraphs_is_refused():
    page = _page("y2-article")
    start, end = page.index("<p>(뉴욕=연합뉴스)"), page.index('<p class="txt-copyright')
    with pytest.raises(NotAnArticle, match="no body"):
        _parse(page[:start] + page[end:], Y2_URL)


def test_a_photo_item_without_a_caption_is_refused():
    page = _page("photo-item").replace('<p class="txt-desc">', '<p class="txt-desc" hidden>')
    with pytest.raises(NotAnArticle, match="photo item without caption"):
        _parse(page, PHOTO_URL)


def test_two_body_containers_are_refused():
    page = _page("y3-article").replace(
        '<div class="keyword-zone">',
        '<div class="story-news">가짜 본문</div><div class="keyword-zone">',
    )
    with pytest.raises(NotAnArticle, match="2 article bodies"):
        _parse(page)


# --- what the body is and is not (RECORD.md § Body) -----------------------------------------------


def test_hidden_text_in_the_body_is_not_body():
    hidden = '<p style="display:none">숨은 문단</p><p class="blind">가린 문단</p>'
    page = _page("y3-article").replace("<p>기상청은", hidden + "<p>기상청은")
    assert _parse(page).body == _parse(_page("y3-article")).body


def test_ads_related_boxes_and_writer_zone_are_not_body():
    record = _parse(_page("y3-article"))
    text = " ".join(record.body)
    chrome_words = ("관련 뉴스", "경제부", "구독", "okjebo", "저작권자", "송고", "3줄 요약")
    for chrome in chrome_words:
        assert chrome not in text


def test_footer_lines_are_dropped_wherever_they_stand():
    page = _page("y2-article").replace(
        "<p>jhyoon@yna.co.kr</p>",
        "<p>제보는 카카오톡 okjebo</p><p>jhyoon@yna.co.kr</p><p>2022/11/18 07:05 송고</p>",
    )
    assert _parse(page, Y2_URL) == _parse(_page("y2-article"), Y2_URL)


def test_closing_addresses_go_to_the_reporters_in_order_and_left_overs_are_dropped():
    page = _page("y3-article").replace(
        "<p>psy@yna.co.kr<br/></p>", "<p>psy@yna.co.kr, haram@yna.co.kr</p><p>x@yna.co.kr</p>"
    )
    emails = [reporter.email for reporter in _parse(page).reporters]
    assert emails == ["psy@yna.co.kr", "haram@yna.co.kr"]


def test_a_lead_holding_only_its_prefix_is_dropped():
    page = _page("y2-article").replace(
        "<p>(뉴욕=연합뉴스) 윤지환 특파원 = ", "<p>(뉴욕=연합뉴스) 윤지환 특파원 =</p><p>"
    )
    assert _parse(page, Y2_URL).body == _parse(_page("y2-article"), Y2_URL).body
