"""Yonhap News Agency (www.yna.co.kr): its URLs and ids, its layouts and their parsers, as one
plug-in. `newsarchive parse` reads its pages; crawling and archiving them wait for the archive
to be keyed by publisher (issue 19)."""

from __future__ import annotations

from crawler.publishers.base import Publisher
from crawler.publishers.yonhap import parser, urls


def _normalize_id(text: str) -> str:
    # `akr…` names the same article as `AKR…`: CIDs are upper case, as every URL form folds them.
    return text.strip().upper()

YONHAP = Publisher(
    name="yonhap",
    article_id_re=urls.ARTICLE_ID_RE,
    article_id_from_url=urls.article_id_from_url,
    canonical_article_url=urls.canonical_article_url,
    is_own_host=urls.is_yonhap_host,
    parser_for=parser.parser_for,
    canonical_origin=urls.CANONICAL_ORIGIN,
    article_path=urls.ARTICLE_PATH,
    example_url="https://www.yna.co.kr/view/AKR20241115000100001",
    normalize_id=_normalize_id,
)
