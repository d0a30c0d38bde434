"""`newsarchive changes`: every event oldest first, as JSON lines exactly as specified, or Atom."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy.orm import Session

from crawler.archiving import ingest
from crawler.cli import cli
from storage.db import open_archive, upgrade
from tests.support.event_pages import gone, page, touched_v1
from tests.support.storage_fixtures import SEED_ID, SEED_URL, T0, seed_v1, seed_v2

ATOM = "{http://www.w3.org/2005/Atom}"


def fill(db_url: str) -> None:
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    with Session(engine) as session:
        for one in [page(seed_v1(), 0), page(touched_v1(), 1), page(seed_v2(), 2), gone(3, 404),
                    page(seed_v2(), 4)]:
            ingest(session, one)
    engine.dispose()


def run(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["changes", "--db", db_url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_changes_json_lists_every_event_oldest_first_exactly_as_specified(db_url):
    fill(db_url)
    lines = [json.loads(line) for line in run(db_url, "--json").splitlines()]
    at = [(T0 + timedelta(hours=h)).isoformat() for h in range(5)]
    base = {"article_id": SEED_ID, "url": SEED_URL}
    assert lines == [
        {"at": at[0], **base, "kind": "new_article", "version": 1, "fields": None},
        {"at": at[1], **base, "kind": "touched", "version": 1, "fields": None},
        {"at": at[2], **base, "kind": "new_version", "version": 2, "fields": ["headline", "body"]},
        {"at": at[3], **base, "kind": "deleted", "version": 2, "fields": None},
        {"at": at[4], **base, "kind": "restored", "version": 2, "fields": None},
    ]
    assert [list(line) for line in lines] == [
        ["at", "article_id", "url", "kind", "version", "fields"]
    ] * 5
    assert run(db_url, "--format", "json") == run(db_url, "--json")


def test_changes_since_and_kind_narrow_the_list(db_url):
    fill(db_url)
    since = (T0 + timedelta(hours=2)).isoformat()
    kinds = [json.loads(line)["kind"] for line in run(db_url, "--json", "--since", since)
             .splitlines()]
    assert kinds == ["new_version", "deleted", "restored"]
    only = run(db_url, "--json", "--kind", "deleted", "--kind", "restored").splitlines()
    assert [json.loads(line)["kind"] for line in only] == ["deleted", "restored"]
    text = run(db_url, "--kind", "new_version")
    assert "new_version v2  headline, body" in text


def test_changes_atom_is_a_feed_with_one_entry_per_event(db_url):
    fill(db_url)
    root = ET.fromstring(run(db_url, "--format", "atom").encode())
    assert root.tag == f"{ATOM}feed"
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 5
    assert len({entry.findtext(f"{ATOM}id") for entry in entries}) == 5
    assert entries[0].find(f"{ATOM}link").get("href") == SEED_URL
    assert [e.find(f"{ATOM}category").get("term") for e in entries] == [
        "restored", "deleted", "new_version", "touched", "new_article"
    ]


def test_history_show_search_and_export_say_the_article_is_deleted(db_url, tmp_path):
    upgrade(db_url)
    engine = open_archive(db_url, for_writing=True)
    with Session(engine) as session:
        for one in [page(seed_v1(), 0), page(touched_v1(), 1), gone(2, 404)]:
            ingest(session, one)
    engine.dispose()
    runner = CliRunner()
    history = json.loads(runner.invoke(cli, ["history", SEED_ID, "--json", "--db", db_url]).output)
    deleted_at = (T0 + timedelta(hours=2)).isoformat()
    assert history["deleted_at"] == deleted_at
    assert [event["kind"] for event in history["events"]] == ["touched", "deleted"]
    text = runner.invoke(cli, ["history", SEED_ID, "--db", db_url]).output
    assert "deleted since" in text and "touched" in text
    shown = json.loads(runner.invoke(cli, ["show", SEED_ID, "--json", "--db", db_url]).output)
    assert shown["deleted_at"] == deleted_at and shown["version"] == 1
    hits = runner.invoke(cli, ["search", "엔비디아", "--db", db_url]).output
    assert "[deleted]" in hits
    out = tmp_path / "records.jsonl"
    runner.invoke(cli, ["export", "--format", "jsonl", "-o", str(out), "--db", db_url])
    assert json.loads(out.read_text(encoding="utf-8"))["deleted_at"] == deleted_at
