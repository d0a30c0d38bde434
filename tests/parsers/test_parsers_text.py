"""Korean text helpers: cleaning, lead/closing/caption patterns, KST times."""

from __future__ import annotations

from datetime import datetime

import pytest

from crawler.parsers import text as kt
from crawler.parsers.errors import ParseError


def test_clean_text_leaves_entity_spellings_as_they_are():
    # Its input is text lxml has already decoded: an `&lt;` still here is what the page shows.
    assert kt.clean_text("AT&amp;T &lt;b&gt; &quot;인용&quot; &#x27;작은&#x27;") == (
        "AT&amp;T &lt;b&gt; &quot;인용&quot; &#x27;작은&#x27;"
    )


def test_clean_text_twice_equals_clean_text_once():
    # Captions and datelines are cleaned again after their parts are cut out.
    messy = " &amp;lt;사진\u00a0\u200b설명&amp;gt;\u3000AT&amp;T  한\u1100\u1161 "
    once = kt.clean_text(messy)
    assert kt.clean_text(once) == once == "&amp;lt;사진 설명&amp;gt; AT&amp;T 한가"


def test_clean_text_turns_unicode_spaces_into_one_space():
    assert kt.clean_text("가\u00a0\u00a0나\u3000다\u2002라\t\n마") == "가 나 다 라 마"


def test_clean_text_drops_zero_width_characters():
    assert kt.clean_text("제로\u200b폭\ufeff문자\u200d") == "제로폭문자"


def test_clean_text_composes_to_nfc():
    decomposed = "\u1112\u1161\u11ab\u1100\u1173\u11af"  # 한글 as conjoining jamo
    assert kt.clean_text(decomposed) == "한글"


def test_clean_text_trims_and_handles_none():
    assert kt.clean_text("  본문  ") == "본문"
    assert kt.clean_text(None) == ""


@pytest.mark.parametrize(
    ("paragraph", "dateline", "names", "title", "rest"),
    [
        ("[서울=뉴시스]이현주 기자 = 한국과 대만", "서울", ("이현주",), "기자", "한국과 대만"),
        ("[서울=뉴시스] 이현주 기자 = 본문", "서울", ("이현주",), "기자", "본문"),
        ("【서울=뉴시스】김종민 기자 = 본문", "서울", ("김종민",), "기자", "본문"),
        ("[서울=뉴시스]정금민 한재혁 김윤영 기자 = 본문", "서울", ("정금민", "한재혁", "김윤영"),
         "기자", "본문"),
        ("[서울·횡성=뉴시스]김도희 기자 = 본문", "서울·횡성", ("김도희",), "기자", "본문"),
        ("[워싱턴=뉴시스]이윤희 특파원 = 본문", "워싱턴", ("이윤희",), "특파원", "본문"),
        ("[서울=뉴시스]김다연 인턴기자 = 본문", "서울", ("김다연",), "인턴기자", "본문"),
        ("[서울=뉴시스]박은비 리포터 = 본문", "서울", ("박은비",), "리포터", "본문"),
        ("[서울=뉴시스] 한국은행은 15일", "서울", (), None, "한국은행은 15일"),
    ],
)
def test_split_lead_reads_dateline_and_byline(paragraph, dateline, names, title, rest):
    lead = kt.split_lead(paragraph)
    assert (lead.dateline, lead.names, lead.title, lead.rest) == (dateline, names, title, rest)


def test_split_lead_leaves_a_paragraph_without_dateline_alone():
    lead = kt.split_lead("정부는 15일 회의를 열었다.")
    assert lead.dateline is None and lead.rest == "정부는 15일 회의를 열었다."


def test_split_closing_takes_the_email():
    assert kt.split_closing("◎공감언론 뉴시스 yoon@newsis.com") == ("", "yoon@newsis.com", True)
    assert kt.split_closing("끝났다. ◎공감언론 뉴시스 a@newsis.com") == (
        "끝났다.", "a@newsis.com", True)
    assert kt.split_closing("보통 문단") == ("보통 문단", None, False)


def test_photo_desk_footer_and_copyright_are_recognised():
    assert kt.is_photo_desk_footer("[사진 영상 제보받습니다] 공감언론 뉴시스가 독자 여러분의")
    assert not kt.is_photo_desk_footer("사진 영상 제보받습니다")
    assert kt.is_copyright_line("<저작권자ⓒ 공감언론 뉴시스통신사. 무단전재-재배포 금지.>")


def test_parse_caption_of_a_staff_photo():
    parts = kt.parse_caption(
        "[세종=뉴시스] 황준선 기자 = 회의가 열리고 있다. 2023.11.02. hwang@newsis.com")
    assert parts == kt.CaptionParts(
        text="회의가 열리고 있다.", dateline="세종", photographer="황준선",
        photo_date="2023-11-02", email="hwang@newsis.com")


def test_parse_caption_of_a_handout_photo():
    parts = kt.parse_caption(
        "[서울=뉴시스] 신제품. (사진=농협유통 제공) 2025.07.29. photo@newsis.com "
        "*재판매 및 DB 금지"
    )
    assert parts == kt.CaptionParts(
        text="신제품.", dateline="서울", credit="농협유통", photo_date="2025-07-29",
        email="photo@newsis.com", restriction="재판매 및 DB 금지")


@pytest.mark.parametrize(
    ("raw", "credit"),
    [
        ("[서울=뉴시스] 장면. (사진 = 엔비디아) 2024.11.14.", "엔비디아"),
        ("[서울=뉴시스] 장면. (사진=뉴시스DB)", "뉴시스DB"),
        ("[서울=뉴시스] 장면. (공동취재사진) 2024.11.14.", "공동취재사진"),
        ("[워싱턴=AP/뉴시스] 장면. 2024.11.14.", "AP"),
        ("[워싱턴=AP/뉴시스] 장면. (사진=백악관 제공) 2024.11.14.", "백악관"),
        ("[서울=뉴시스] 장면. 2024.11.14.", None),
    ],
)
def test_parse_caption_credit(raw, credit):
    parts = kt.parse_caption(raw)
    assert parts.credit == credit
    assert parts.text == "장면."


def test_parse_caption_with_full_width_prefix_and_no_space():
    parts = kt.parse_caption("【서울=뉴시스】김종민 기자 = 국회. 2016.05.10. kjm@newsis.com")
    assert (parts.dateline, parts.photographer, parts.text) == ("서울", "김종민", "국회.")


def test_parse_caption_keeps_an_impossible_date_in_the_text():
    assert kt.parse_caption("장면. 2024.13.45.").photo_date is None


@pytest.mark.parametrize(
    "line",
    [
        "등록 2024.11.15 06:30:00 수정 2024.11.15 06:34:16",
        "기사등록 2024/11/15 06:30:00 최종수정 2024/11/15 06:34:16",
        "입력 2024-11-15 06:30:00 | 수정 2024-11-15 06:34:16",
    ],
)
def test_parse_kst_times_reads_every_format(line):
    published, modified = kt.parse_kst_times(line)
    assert published.isoformat() == "2024-11-15T06:30:00+09:00"
    assert modified.isoformat() == "2024-11-15T06:34:16+09:00"


def test_parse_kst_times_without_modification():
    published, modified = kt.parse_kst_times("등록 2024.11.14 17:45:12")
    assert published == datetime.fromisoformat("2024-11-14T17:45:12+09:00") and modified is None


def test_parse_kst_times_refuses_an_impossible_time():
    # Issue 16 #10: an impossible time is the page's error, said as such (it was skipped).
    with pytest.raises(ParseError, match="registration time is not a real time"):
        kt.parse_kst_times("등록 2024.02.30 06:30:00")


def test_parse_iso_time_converts_to_kst():
    assert kt.parse_iso_time("2024-11-14T21:30:00+00:00").isoformat() == "2024-11-15T06:30:00+09:00"
    assert kt.parse_iso_time("2024-11-15T06:30:00").isoformat() == "2024-11-15T06:30:00+09:00"
    assert kt.parse_iso_time("어제") is None
