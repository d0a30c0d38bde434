"""The registry: publishers found through entry points, and chosen by name or by URL."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from crawler.parsers import NotAnArticle
from crawler.publishers import (
    ENTRY_POINT_GROUP,
    PublisherError,
    UnknownPublisher,
    parse_article,
    publisher_for_url,
    publisher_named,
    publishers,
)
from crawler.publishers.newsis import NEWSIS
from crawler.publishers.registry import load_publishers
from tests.support.storage_fixtures import example_page

TARGETS = "tests.publishers.plugin_targets"


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_newsis_is_installed_through_its_entry_point() -> None:
    assert publishers()["newsis"] is NEWSIS
    assert publisher_named("newsis") is NEWSIS


def test_an_unknown_name_is_refused_naming_the_installed_ones() -> None:
    with pytest.raises(UnknownPublisher, match=r"'nobody'.*newsis"):
        publisher_named("nobody")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.newsis.com/view/NISX20241115_0002960118",
        "http://www.newsis.com/view/?id=nisx20241115_0002960118&cID=10201",
        "https://m.newsis.com/view.html?ar_id=NISX20241115_0002960118",
        # A mirror of the site (the local one) names articles by Newsis ids.
        "http://127.0.0.1:8000/view/NISX20241115_0002960118",
    ],
)
def test_a_url_of_its_site_or_naming_its_id_picks_newsis(url) -> None:
    assert publisher_for_url(url) is NEWSIS


@pytest.mark.parametrize(
    "url", ["https://example.com/", "https://www.example.co.kr/view/ABC123", "", "x"]
)
def test_a_url_of_no_publisher_is_refused(url) -> None:
    with pytest.raises(UnknownPublisher):
        publisher_for_url(url)


def test_parse_article_parses_a_newsis_page_by_its_url() -> None:
    body, url, expected = example_page("seed-l3")
    record = parse_article(body, url).to_dict()
    # The example's JSON (RECORD.md) leaves out what the archive adds: hash, parser version.
    assert {name: record[name] for name in expected} == expected


def test_parse_article_on_a_url_of_no_publisher_is_not_an_article() -> None:
    body, _url, _expected = example_page("seed-l3")
    with pytest.raises(NotAnArticle, match="no publisher"):
        parse_article(body, "https://example.com/view/1")


def test_the_id_of_any_form_is_canonical() -> None:
    assert NEWSIS.article_id_of(" nisx20241115_0002960118 ") == "NISX20241115_0002960118"
    assert NEWSIS.article_id_of(
        "https://m.newsis.com/view.html?ar_id=nisx20241115_0002960118"
    ) == "NISX20241115_0002960118"
    assert NEWSIS.article_id_of("https://www.newsis.com/realnews/") is None


def test_the_same_plug_in_seen_twice_is_one() -> None:
    found = load_publishers([point("newsis", f"{TARGETS}:SECOND_NEWSIS")] * 2)
    assert list(found) == ["newsis"]


def test_two_plug_ins_claiming_one_name_are_refused_naming_both() -> None:
    with pytest.raises(PublisherError, match=r"SECOND_NEWSIS.*taken by crawler.publishers"):
        load_publishers([
            point("newsis", "crawler.publishers.newsis:NEWSIS"),
            point("newsis", f"{TARGETS}:SECOND_NEWSIS"),
        ])


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("tests.publishers.no_such_module:PUBLISHER", "cannot be loaded: ModuleNotFoundError"),
        (f"{TARGETS}:MISSING", "cannot be loaded: AttributeError"),
        (f"{TARGETS}:NOT_A_PUBLISHER", "is a dict, not a crawler.publishers.Publisher"),
        (f"{TARGETS}:RENAMED", "is named 'agency': the names must agree"),
    ],
)
def test_a_broken_plug_in_is_refused_saying_why(value, said) -> None:
    with pytest.raises(PublisherError) as error:
        load_publishers([point("newsis", value)])
    assert said in str(error.value)
    assert value in str(error.value)
