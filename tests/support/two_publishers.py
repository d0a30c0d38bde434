"""An archive of both publishers: the standard Newsis captures and Yonhap's example pages, one
of them edited, ingested by the real write path (crawler.archiving.ingest)."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support.paths import YONHAP_EXAMPLES
from tests.support.storage_fixtures import (
    OLDER_ID,
    PHOTO_ID,
    SEED_ID,
    T0,
    Capture,
    fill,
    standard_captures,
)

NEWSIS_IDS = {SEED_ID, OLDER_ID, PHOTO_ID}
Y3_ID = "AKR20260716091200003"  # examples/y3-article, edited once below
Y2_ID = "AKR20221118004500071"  # examples/y2-article
YONHAP_PHOTO_ID = "PYH20260716112400013"  # examples/photo-item
YONHAP_IDS = {Y3_ID, Y2_ID, YONHAP_PHOTO_ID}
# Text every article of both publishers' holds somewhere (body or caption).
COMMON_TEXT = "있다"
# The y3 edit: one figure of paragraph 2 corrected.
Y3_OLD_FIGURE, Y3_NEW_FIGURE = "97.8GW(기가와트)", "97.9GW(기가와트)"

# Every URL form the Yonhap plug-in folds to the y3 article's id (crawler/publishers/yonhap/urls).
Y3_FORMS = (
    Y3_ID,
    f" {Y3_ID.lower()} ",
    f"https://www.yna.co.kr/view/{Y3_ID}",
    f"http://www.yna.co.kr/view/{Y3_ID}?input=1195m",
    f"https://yna.co.kr/view/{Y3_ID}/",
    f"https://m.yna.co.kr/view/{Y3_ID}",
    f"https://www.yna.co.kr/amp/view/{Y3_ID}",
    f"https://m.yna.co.kr/amp/view/{Y3_ID}?section=economy",
    f"https://www.yna.co.kr/view/{Y3_ID.lower()}",
    f"//www.yna.co.kr/view/{Y3_ID}",
    f"/view/{Y3_ID}",
    f"http://www.yonhapnews.co.kr/bulletin/2026/07/16/0200000000{Y3_ID}.HTML",
    f"http://yonhapnews.co.kr/economy/2026/07/16/0302000000{Y3_ID}.html",
)


def yonhap_capture(stem: str, when, replace: tuple[str, str] | None = None) -> Capture:
    body = (YONHAP_EXAMPLES / f"{stem}.html").read_bytes()
    if replace is not None:
        old, new = (part.encode() for part in replace)
        assert old in body
        body = body.replace(old, new)
    meta = json.loads((YONHAP_EXAMPLES / f"{stem}.meta.json").read_text(encoding="utf-8"))
    return Capture(meta["url"], body, when)


def yonhap_captures() -> list[Capture]:
    """Three Yonhap articles; y3 fetched twice, edited between the fetches."""
    return [
        yonhap_capture("y2-article", T0 - timedelta(days=700)),
        yonhap_capture("photo-item", T0 + timedelta(hours=3)),
        yonhap_capture("y3-article", T0 + timedelta(hours=4)),
        yonhap_capture("y3-article", T0 + timedelta(hours=6), (Y3_OLD_FIGURE, Y3_NEW_FIGURE)),
    ]


def fill_both(db_url: str) -> None:
    """The standard Newsis captures (six, three articles) and the Yonhap ones (four, three)."""
    fill(db_url, standard_captures() + yonhap_captures())
