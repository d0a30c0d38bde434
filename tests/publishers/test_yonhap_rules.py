"""Yonhap's URL forms and text rules: ids, hosts, leads, bylines and captions (STRUCTURE.md)."""

from __future__ import annotations

import pytest

from crawler.parsers.text import CaptionParts
from crawler.publishers.yonhap.body_text import split_lead, until_closing_emails
from crawler.publishers.yonhap.captions import parse_caption
from crawler.publishers.yonhap.urls import (
    article_id_from_url,
    article_id_of,
    canonical_article_url,
    is_yonhap_host,
)

CID = "AKR20210225119200001"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://www.yna.co.kr/view/{CID}", CID),
        (f"http://www.yna.co.kr/view/{CID}?input=1195m", CID),
        (f"https://yna.co.kr/view/{CID}#comments", CID),
        (f"https://m.yna.co.kr/view/{CID}?site=popup", CID),
        (f"https://www.yna.co.kr/amp/view/{CID}", CID),
        (f"https://m.yna.co.kr/amp/view/{CID}", CID),
        (f"//www.yna.co.kr/view/{CID}?section=sports/all", CID),
        (f"/view/{CID}", CID),
        ("https://www.yna.co.kr/view/PYH20260716112400013?input=1196m", "PYH20260716112400013"),
        (
            "http://www.yonhapnews.co.kr/bulletin/2018/06/12/0200000000AKR20180612131400004.HTML"
            "?input=1195m",
            "AKR20180612131400004",
        ),
        ("https://www.yna.co.kr/view/AEN20260716000300315", None),  # English service
        ("https://www.yna.co.kr/view/GYH20260716000300044", None),  # graphic
        (f"https://en.yna.co.kr/view/{CID}", None),
        (f"https://evil.example/view/{CID}", None),
        ("https://www.yna.co.kr/news/1", None),
        ("https://www.yna.co.kr/view/AKR2026071609120", None),
        ("javascript:alert(1)", None),
        ("http://[::1", None),
    ],
)
def test_article_id_from_url(url, expected):
    assert article_id_from_url(url) == expected


def test_hosts_and_canonical_urls():
    hosts = ["www.yna.co.kr", "M.YNA.CO.KR", "yna.co.kr.", "yonhapnews.co.kr"]
    assert all(map(is_yonhap_host, hosts))
    assert not any(map(is_yonhap_host, ["en.yna.co.kr", "img0.yna.co.kr", "yna.co.kr.evil", None]))
    assert canonical_article_url(CID) == f"https://www.yna.co.kr/view/{CID}"
    with pytest.raises(ValueError):
        canonical_article_url("AEN20260716000300315")
    assert article_id_of(f" m.yna.co.kr/view/{CID} ") == f"m.yna.co.kr/view/{CID}"
    assert article_id_of(f"https://m.yna.co.kr/view/{CID}") == CID
    assert article_id_of(CID) == CID


@pytest.mark.parametrize(
    ("lead", "dateline", "reporters", "rest"),
    [
        ("(서울=연합뉴스) 박서윤 기자 = 본문", "서울", [("박서윤", "기자")], "본문"),
        ("(서울=연합뉴스) 박서윤 정하람 기자 = 본문", "서울",
         [("박서윤", "기자"), ("정하람", "기자")], "본문"),
        ("(워싱턴·서울=연합뉴스) 김동현 특파원 고상민 기자 = 본문", "워싱턴·서울",
         [("김동현", "특파원"), ("고상민", "기자")], "본문"),
        ("(랄릿푸르[네팔]=연합뉴스) 김민지 통신원 = 본문", "랄릿푸르[네팔]",
         [("김민지", "통신원")], "본문"),
        ("(서울=연합뉴스) 이유진 인턴기자=본문", "서울", [("이유진", "인턴기자")], "본문"),
        ("(서울=연합뉴스) ▲ 무역협회는 … 참가비=무료", "서울", [], "▲ 무역협회는 … 참가비=무료"),
        ("서울 낮 기온이 35도", None, [], "서울 낮 기온이 35도"),
    ],
)
def test_lead_prefix_and_byline(lead, dateline, reporters, rest):
    found = split_lead(lead)
    assert (found.dateline, list(found.reporters), found.rest) == (dateline, reporters, rest)


def test_closing_lines_hold_addresses_only():
    body, emails = until_closing_emails(["본문", "a@yna.co.kr", "b@yna.co.kr c@yna.co.kr"])
    assert (body, emails) == (["본문"], ["a@yna.co.kr", "b@yna.co.kr", "c@yna.co.kr"])
    assert until_closing_emails(["문의 a@yna.co.kr"]) == (["문의 a@yna.co.kr"], [])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "(수원=연합뉴스) 홍기원 기자 = 수원 화성 전경. 2026.7.16 xanadu@yna.co.kr",
            CaptionParts(
                "수원 화성 전경.", "수원", "홍기원", None, "2026-07-16", "xanadu@yna.co.kr"
            ),
        ),
        (
            "네팔 교민들이 모였다[네팔 교민 문광진씨 제공. 재판매 및 DB 금지]",
            CaptionParts("네팔 교민들이 모였다", credit="네팔 교민 문광진씨",
                         restriction="재판매 및 DB 금지"),
        ),
        (
            "(서울=연합뉴스) 변전소. 2026.7.16 [한국전력 제공. 재판매 및 DB 금지] photo@yna.co.kr",
            CaptionParts("변전소.", "서울", None, "한국전력", "2026-07-16", "photo@yna.co.kr",
                         "재판매 및 DB 금지"),
        ),
        ("가계대출[연합뉴스 자료사진]", CaptionParts("가계대출", credit="연합뉴스 자료사진")),
        ("[촬영 조승한]", CaptionParts("", credit="촬영 조승한")),
        ("[이태호 제작] 사진합성·일러스트",
         CaptionParts("사진합성·일러스트", credit="이태호 제작")),
        ("(워싱턴 AP=연합뉴스) 백악관. 2026.7.15.",
         CaptionParts("백악관.", "워싱턴", None, "AP", "2026-07-15")),
        ("(로이터=연합뉴스) 런던 시내", CaptionParts("런던 시내", credit="로이터")),
        ("(도쿄 교도=연합뉴스) 도쿄 [교도 제공]", CaptionParts("도쿄", "도쿄", credit="교도")),
        ("날짜가 아닌 2026.13.45", CaptionParts("날짜가 아닌 2026.13.45")),
        ("", CaptionParts("")),
    ],
)
def test_caption_parts(raw, expected):
    assert parse_caption(raw) == expected
