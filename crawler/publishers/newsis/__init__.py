"""Newsis (www.newsis.com): its URLs and ids, its layouts and their parsers, as one plug-in."""

from __future__ import annotations

from crawler.publishers.base import Answers, Discovery, Publisher, upper_case_id
from crawler.publishers.newsis import answers, discovery, parser, urls


def _article_id_from_url(url: str) -> str | None:
    return urls.upper_id(urls.article_id_from_url(url))


NEWSIS = Publisher(
    name="newsis",
    article_id_re=urls.ARTICLE_ID_RE,
    article_id_from_url=_article_id_from_url,
    canonical_article_url=urls.canonical_article_url,
    is_own_host=urls.is_newsis_host,
    parser_for=parser.parser_for,
    canonical_origin=urls.CANONICAL_ORIGIN,
    article_path=urls.ARTICLE_PATH,
    example_url="https://www.newsis.com/view/NISX20241115_0002960118",
    normalize_id=upper_case_id,
    answers=Answers(
        expected_statuses=answers.EXPECTED_STATUSES,
        is_gone=answers.is_gone,
        is_error_redirect=answers.is_error_redirect,
        looks_like_captcha=answers.looks_like_captcha,
    ),
    discovery=Discovery(
        feed_slugs=discovery.FEED_SLUGS,
        feed_path=discovery.FEED_PATH,
        list_templates=discovery.LIST_TEMPLATES,
        list_link_selectors=discovery.LIST_LINK_SELECTORS,
        max_list_pages=discovery.MAX_LIST_PAGES,
        article_id_of_link=discovery.article_id_of_link,
        registration_date=discovery.registration_date,
        list_reaches_back=discovery.list_reaches_back,
        robots_path=discovery.ROBOTS_PATH,
        newest_child_sitemaps=discovery.NEWEST_CHILD_SITEMAPS,
        max_child_sitemaps=discovery.MAX_CHILD_SITEMAPS,
    ),
)
