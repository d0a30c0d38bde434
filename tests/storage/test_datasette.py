"""The Datasette metadata the project ships, on a real archive: KST times, search, JSON fields."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.storage_fixtures import SEED_URL, Capture, example, fill

datasette_app = pytest.importorskip("datasette.app")

METADATA = Path(__file__).resolve().parents[2] / "datasette" / "metadata.json"
ARTICLE_ID = SEED_URL.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The seed page, registered at 07:07 KST, ingested into newsarchive.sqlite3 (the name the
    metadata is keyed by)."""
    path = tmp_path_factory.mktemp("datasette") / "newsarchive.sqlite3"
    page = example("seed-l3.html").replace(b"2024.11.15 06:30:00", b"2024.11.15 07:07:00")
    fill(f"sqlite:///{path}", [Capture(SEED_URL, page, datetime(2024, 11, 15, tzinfo=UTC))])
    return path


# Datasette's threads (queries, writes to its internal database) outlive any request: run it in a
# subprocess so that no later test finds itself in a threaded process.
_CLIENT = """
import asyncio, json, sys
from datasette.app import Datasette

async def fetch(archive, metadata, path):
    response = await Datasette([archive], metadata=json.loads(metadata)).client.get(path)
    return response.status_code, response.text

status, text = asyncio.run(fetch(*sys.argv[1:]))
print(json.dumps({"status": status, "text": text}))
"""


def get(archive: Path, path: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", _CLIENT, str(archive), METADATA.read_text(encoding="utf-8"), path],
        capture_output=True, text=True, timeout=120, check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["status"] == 200, answer["text"]
    return json.loads(answer["text"])


def test_the_kst_query_shows_the_time_newsis_printed(archive):
    rows = get(archive, f"/newsarchive/versions_kst.json?_shape=array&article_id={ARTICLE_ID}")
    assert [row["published (KST)"] for row in rows] == ["2024-11-15 07:07"]


def test_the_json_fields_are_readable(archive):
    [row] = get(archive, f"/newsarchive/versions_kst.json?_shape=array&article_id={ARTICLE_ID}")
    assert "기자" in row["reporters"] and "[" not in row["reporters"]
    paragraphs = get(archive, f"/newsarchive/paragraphs.json?_shape=array&article_id={ARTICLE_ID}")
    assert paragraphs[0]["paragraph"] == 1 and "엔비디아" in " ".join(
        p["text"] for p in paragraphs
    )


def test_search_on_versions_finds_a_korean_word(archive):
    table = get(archive, "/newsarchive/versions.json?_shape=array&_search=엔비디아")
    assert [row["article_id"] for row in table] == [ARTICLE_ID]
    canned = get(archive, "/newsarchive/search_versions_kst.json?_shape=array&text=손정의")
    assert [row["published (KST)"] for row in canned] == ["2024-11-15 07:07"]
    assert get(archive, "/newsarchive/versions.json?_shape=array&_search=없는낱말") == []
