"""The query commands on an archive of both publishers: either one's ids and URLs name its
articles, and --publisher keeps search, export, stats and changes to one publisher's."""

from __future__ import annotations

import io
import json
import os
import shutil
import xml.etree.ElementTree as ET
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import cli
from tests.support.storage_fixtures import (
    OLDER_URL,
    POSTGRES_ENV_VAR,
    SEED_ID,
    throwaway_postgres_database,
)
from tests.support.two_publishers import (
    COMMON_TEXT,
    NEWSIS_IDS,
    Y3_FORMS,
    Y3_ID,
    Y3_NEW_FIGURE,
    YONHAP_IDS,
    fill_both,
)

ATOM = "{http://www.w3.org/2005/Atom}"
IDS = {"newsis": NEWSIS_IDS, "yonhap": YONHAP_IDS}


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> str:
    """Built once: the tests here only read it (reparse works on a copy)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('two_publishers') / 'archive.sqlite3'}"
    fill_both(url)
    return url


def run(db_url: str, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, [*args, "--db", db_url])
    assert result.exit_code == code, result.output
    return result


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


# --- ids and URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize("form", Y3_FORMS)
def test_history_show_and_diff_take_every_yonhap_id_and_url_form(archive, form):
    history = json.loads(run(archive, "history", form, "--json").stdout)
    assert history["article_id"] == Y3_ID and len(history["versions"]) == 2
    shown = json.loads(run(archive, "show", form, "--version", "1", "--json").stdout)
    assert shown["article_id"] == Y3_ID and shown["version"] == 1
    changes = json.loads(run(archive, "diff", form, "--json").stdout)
    assert [(c["field"], c["index"]) for c in changes] == [("body", 2)]
    assert Y3_NEW_FIGURE in changes[0]["new"]


def test_newsis_ids_and_urls_still_name_newsis_articles(archive):
    for form in (SEED_ID.lower(), OLDER_URL, f"https://m.newsis.com/view/{SEED_ID}"):
        history = json.loads(run(archive, "history", form, "--json").stdout)
        assert history["article_id"] in NEWSIS_IDS


@pytest.mark.parametrize("command", ["history", "show", "diff"])
def test_text_naming_no_article_is_one_line_naming_each_publishers_form(archive, command):
    result = run(archive, command, "https://www.example.com/view/AKR20260716091200003", code=1)
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsarchive: ")
    assert "https://www.newsis.com/view/NISX" in lines[0]
    assert "https://www.yna.co.kr/view/AKR" in lines[0]


def test_an_id_the_archive_lacks_is_still_not_found(archive):
    result = run(archive, "show", "AKR20990101000100001", code=1)
    assert result.output == "newsarchive: no article AKR20990101000100001 in the archive\n"


def test_reparse_article_takes_a_yonhap_url(archive, tmp_path):
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(archive.removeprefix("sqlite:///"), copy)
    result = run(f"sqlite:///{copy}", "reparse", "--article", Y3_FORMS[-1], "--workers", "1")
    assert "reparsed 1 article(s): 0 rebuilt, 1 unchanged" in result.stdout


# --- --publisher ---------------------------------------------------------------------------------


def search_ids(db_url: str, *publishers: str) -> list[str]:
    chosen = [arg for name in publishers for arg in ("--publisher", name)]
    hits = json.loads(run(db_url, "search", COMMON_TEXT, *chosen, "--json").stdout)
    return [hit["article_id"] for hit in hits]


def export_records(db_url: str, *args: str) -> list[dict]:
    return json_lines(run(db_url, "export", "--all-versions", *args).stdout)


def test_search_with_publisher_finds_only_that_publishers_articles(archive):
    assert set(search_ids(archive)) == NEWSIS_IDS | YONHAP_IDS
    for name, ids in IDS.items():
        assert set(search_ids(archive, name)) == ids
    assert set(search_ids(archive, "yonhap", "newsis")) == NEWSIS_IDS | YONHAP_IDS


def test_export_with_publisher_writes_only_that_publishers_records(archive):
    everything = export_records(archive)
    assert {record["article_id"] for record in everything} == NEWSIS_IDS | YONHAP_IDS
    for name, ids in IDS.items():
        records = export_records(archive, "--publisher", name)
        assert {record["article_id"] for record in records} == ids
        assert {record["source"] for record in records} == {name}
        assert len(records) == 4  # each publisher: one article edited once, two not


def test_warc_export_with_publisher_holds_only_that_publishers_captures(archive):
    raw = run(archive, "export", "--format", "warc", "--publisher", "yonhap").stdout_bytes
    uris = [
        record.rec_headers.get_header("WARC-Target-URI")
        for record in ArchiveIterator(io.BytesIO(raw))
        if record.rec_type == "response"
    ]
    assert len(uris) == 4 and all("yna.co.kr/view/" in uri for uri in uris)


def test_stats_counts_each_publisher_and_narrows_to_one(archive):
    numbers = json.loads(run(archive, "stats", "--json").stdout)
    assert numbers["by_publisher"] == {
        "newsis": {"articles": 3, "versions": 4, "captures": 6},
        "yonhap": {"articles": 3, "versions": 4, "captures": 4},
    }
    assert (numbers["articles"], numbers["versions"], numbers["captures"]) == (6, 8, 10)
    text = run(archive, "stats").stdout
    assert "  yonhap       3 articles, 4 versions, 4 captures" in text.splitlines()
    only = json.loads(run(archive, "stats", "--publisher", "yonhap", "--json").stdout)
    assert (only["articles"], only["versions"], only["captures"]) == (3, 4, 4)
    assert list(only["by_publisher"]) == ["yonhap"]
    assert 0 < only["bodies"] < numbers["bodies"]


def test_changes_with_publisher_lists_only_that_publishers_events(archive):
    for name, ids in IDS.items():
        lines = json_lines(run(archive, "changes", "--publisher", name, "--json").stdout)
        assert {line["article_id"] for line in lines} == ids
        assert [line["kind"] for line in lines].count("new_version") == 1


def test_changes_atom_feed_of_one_publisher_links_its_site(archive):
    feed = run(archive, "changes", "--publisher", "yonhap", "--format", "atom").stdout
    root = ET.fromstring(feed.encode())
    assert len(root.findall(f"{ATOM}entry")) == 4
    related = [link.get("href") for link in root.findall(f"{ATOM}link[@rel='related']")]
    assert related == ["https://www.yna.co.kr/"]


@pytest.mark.parametrize("command", [
    ("search", COMMON_TEXT), ("export",), ("stats",), ("changes",),
])
def test_an_unknown_publisher_is_a_usage_error_naming_the_installed_ones(archive, command):
    result = run(archive, *command, "--publisher", "yna", code=2)
    assert "no publisher named 'yna' (installed: newsis, yonhap)" in result.output


def test_publisher_help_names_the_installed_publishers(archive):
    for command in ("search", "export", "stats", "changes"):
        shown = " ".join(run(archive, command, "--help").stdout.split())
        assert "--publisher NAME Only" in shown and "Installed: newsis, yonhap." in shown


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.skipif(not os.environ.get(POSTGRES_ENV_VAR), reason=f"set {POSTGRES_ENV_VAR}")
def test_publisher_filters_on_postgresql():
    with contextmanager(throwaway_postgres_database)(os.environ[POSTGRES_ENV_VAR]) as url:
        fill_both(url)
        assert set(search_ids(url, "yonhap")) == YONHAP_IDS
        assert {r["article_id"] for r in export_records(url, "--publisher", "newsis")} == NEWSIS_IDS
        stats = json.loads(run(url, "stats", "--publisher", "yonhap", "--json").stdout)
        assert (stats["articles"], stats["captures"]) == (3, 4)
        changes = json_lines(run(url, "changes", "--publisher", "yonhap", "--json").stdout)
        assert {line["article_id"] for line in changes} == YONHAP_IDS
        assert json.loads(run(url, "history", Y3_FORMS[-1], "--json").stdout)["article_id"] == Y3_ID
