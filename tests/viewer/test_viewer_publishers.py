"""The viewer on an archive of both publishers, in process (no server, no browser): either one's
ids name its pages, the search box goes to a pasted article, filters keep to one publisher."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from crawler.viewer.app import create_app
from tests.support.two_publishers import (
    COMMON_TEXT,
    NEWSIS_IDS,
    Y3_FORMS,
    Y3_ID,
    YONHAP_IDS,
    fill_both,
)


class Client:
    """Requests to the app through httpx's ASGI transport (starlette's TestClient warns that
    it wants another httpx; this asks nothing of the app that a server would not)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str, **options: Any) -> httpx.Response:
        async def one() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://viewer") as http:
                return await http.get(path, **options)

        return asyncio.run(one())


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Client:
    url = f"sqlite:///{tmp_path_factory.mktemp('viewer_publishers') / 'archive.sqlite3'}"
    fill_both(url)
    return Client(create_app(url))


def test_article_and_diff_pages_take_a_yonhap_id(client):
    article = client.get(f"/article/{Y3_ID.lower()}?format=json")
    assert article.status_code == 200 and article.json()["article_id"] == Y3_ID
    assert article.json()["record"]["source"] == "yonhap"
    diff = client.get(f"/article/{Y3_ID}/diff?format=json")
    assert diff.status_code == 200 and [c["field"] for c in diff.json()["changes"]] == ["body"]


def test_an_article_path_naming_no_article_is_a_404_naming_the_forms(client):
    answer = client.get("/article/nope?format=json")
    assert answer.status_code == 404
    assert "https://www.yna.co.kr/view/AKR" in answer.json()["error"]


@pytest.mark.parametrize("form", [Y3_FORMS[2], Y3_FORMS[6], Y3_FORMS[-1]])
def test_search_box_goes_to_the_article_a_pasted_url_names(client, form):
    answer = client.get("/search", params={"q": form}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/article/{Y3_ID}"


def test_search_and_changes_filter_by_publisher(client):
    for name, ids in (("yonhap", YONHAP_IDS), ("newsis", NEWSIS_IDS)):
        search = client.get("/search", params={"q": COMMON_TEXT, "publisher": name,
                                               "format": "json"}).json()
        assert {hit["article_id"] for hit in search["hits"]} == ids
        changes = client.get("/", params={"publisher": name, "format": "json"}).json()
        assert {change["article_id"] for change in changes["changes"]} == ids
    assert client.get("/?format=json").json()["publishers"] == ["newsis", "yonhap"]


def test_an_unknown_publisher_filter_is_a_400_naming_the_installed_ones(client):
    for path in ("/", "/search?q=x", "/changes.atom"):
        answer = client.get(path, params={"publisher": "yna", "format": "json"})
        assert answer.status_code == 400
        assert answer.json()["error"] == "publisher: one of newsis, yonhap, not 'yna'"
