"""Yonhap-like articles for the local site: CIDs, sections, reporters, photo boxes, in Yonhap's
shapes (STRUCTURE.md), as the shared SiteArticle model with publisher "yonhap"."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from crawler.localsite.articles import publish_gap
from crawler.localsite.model import Reporter, Section, SiteArticle
from crawler.localsite.wording import (
    FOREIGN_PLACES,
    HANDLES,
    HANDOUT_ORGS,
    HEADLINE_ENDS,
    OBJECTS,
    PHOTO_ACTIONS,
    PLACES,
    QUOTES,
    SUBJECTS,
    TOPICS,
    _paragraph,
    _person,
    _rng,
)

PUBLISHER = "yonhap"
# STRUCTURE.md § List pages: section paths and the labels of the breadcrumb's first item; the
# `cid` of the shared Section is the path's slug.
SECTIONS = tuple(
    Section(f"/{slug}/", slug, label, None)
    for slug, label in (
        ("politics", "정치"), ("north-korea", "북한"), ("economy", "경제"),
        ("industry", "산업"), ("society", "사회"), ("local", "전국"),
        ("international", "세계"), ("culture", "문화"), ("lifestyle", "라이프"),
        ("entertainment", "연예"), ("sports", "스포츠"),
    )
)
PHOTO_SECTION = Section("/visual/", "visual", "포토", None)
ALL_SECTIONS = (*SECTIONS, PHOTO_SECTION)
# Desk codes end a CID (`AKR20260716091200003`): a weak category hint, any will do.
DESKS = ("001", "003", "005", "009", "017", "051", "061")
HEADLINE_TAGS = ("[속보] ", "[단독] ", "[게시판] ")
AGENCIES = ("AP", "AFP", "EPA", "로이터", "신화", "교도")
CAPTION_KINDS = ("staff", "handout", "file", "agency")


@dataclass(frozen=True, slots=True)
class YonhapPhoto:
    """One photo box; `caption_kind` picks how its caption is written (STRUCTURE.md § Text).
    `rnd` is kept so the newsroom's photo re-stamp works alike on both sites."""

    src: str  # as the page writes it, `//img0.yna.co.kr/…` or `https://…`
    caption_kind: str  # staff, handout, file, agency
    text: str
    place: str | None = None
    photographer: str | None = None
    agency: str | None = None
    org: str | None = None
    photo_date: date | None = None
    email: str | None = None
    rnd: str = "0"

    @property
    def record_url(self) -> str:
        return "https:" + self.src if self.src.startswith("//") else self.src

    def caption_line(self) -> str:
        """`(세종=연합뉴스) 오태민 기자 = … 있다. 2026.7.16 otm@yna.co.kr` and the other kinds."""
        day = f" {self.photo_date.year}.{self.photo_date.month}.{self.photo_date.day}" \
            if self.photo_date else ""
        if self.caption_kind == "staff":
            byline = f"{self.photographer} 기자 = "
            return f"({self.place}=연합뉴스) {byline}{self.text}{day} {self.email}"
        if self.caption_kind == "handout":
            return (f"({self.place}=연합뉴스) {self.text}{day} [{self.org} 제공. 재판매 및 DB 금지]"
                    f" {self.email}")
        if self.caption_kind == "agency":
            return f"({self.place} {self.agency}=연합뉴스) {self.text}{day}"
        return f"{self.text}[연합뉴스 자료사진]"

    def expected_caption(self) -> dict[str, Any]:
        credit = {"handout": self.org, "agency": self.agency, "file": "연합뉴스 자료사진"}
        return {
            "image_url": self.record_url,
            "text": self.text,
            "dateline": self.place,
            "photographer": self.photographer,
            "credit": credit.get(self.caption_kind),
            "photo_date": self.photo_date.isoformat() if self.photo_date else None,
            "email": self.email,
            "restriction": "재판매 및 DB 금지" if self.caption_kind == "handout" else None,
        }


class CidAllocator:
    """Hands out unique CIDs: type + send date + a daily serial that grows + version + desk."""

    def __init__(self) -> None:
        self.serials: dict[tuple[str, str], int] = {}
        self.used: set[str] = set()

    def allocate(self, kind: str, at: datetime, rng: random.Random, rewrite: bool) -> str:
        day = f"{at:%Y%m%d}"
        # A `(종합)` rewrite is sent as version 51 (STRUCTURE.md § Identifiers).
        version = "51" if rewrite else "00"
        while True:
            serial = self.serials.get((kind, day), 100) + rng.randint(1, 3)
            # Four digits a day: a site publishing thousands a day wraps (ids stay unique).
            self.serials[(kind, day)] = serial if serial < 9999 else 100
            desk = "013" if kind == "PYH" else rng.choice(DESKS)
            cid = f"{kind}{day}{serial % 10000:04d}{version}{desk}"
            if cid not in self.used:
                self.used.add(cid)
                return cid


def _photo(rng: random.Random, cid: str, number: int, at: datetime, topic: str,
           kind: str | None = None) -> YonhapPhoto:
    kind = kind or rng.choices(CAPTION_KINDS, weights=(45, 25, 15, 15))[0]
    if cid.startswith("PYH"):
        src = f"//img0.yna.co.kr/photo/yna/YH/{at:%Y/%m/%d}/{cid}00_P4.jpg"
    else:
        src = f"//img0.yna.co.kr/etc/inner/KR/{at:%Y/%m/%d}/{cid}_{number:02d}_i_P4.jpg"
    if rng.random() < 0.3:
        src = "https:" + src
    text = f"{rng.randint(1, 28)}일 {rng.choice(PLACES)}에서 {topic} 관련 행사가 열린 가운데 " \
        f"{rng.choice(PHOTO_ACTIONS)}"
    photo = YonhapPhoto(src=src, caption_kind=kind, text=text, photo_date=at.date(),
                        rnd=f"{at:%Y%m%d%H%M%S}")
    if kind == "staff":
        return replace(photo, place=rng.choice(PLACES), photographer=_person(rng),
                       email=f"{rng.choice(HANDLES)}@yna.co.kr")
    if kind == "handout":
        return replace(photo, place=rng.choice(PLACES), org=rng.choice(HANDOUT_ORGS),
                       email="photo@yna.co.kr")
    if kind == "agency":
        return replace(photo, place=rng.choice(FOREIGN_PLACES), agency=rng.choice(AGENCIES))
    return replace(photo, photo_date=None)


def _reporters(rng: random.Random, foreign: bool) -> tuple[Reporter, ...]:
    count = rng.choices((0, 1, 2, 3), weights=(6, 70, 18, 6))[0]
    titles = ["특파원" if foreign and number == 0 else "기자" for number in range(count)]
    return tuple(
        Reporter(_person(rng), title, f"{rng.choice(HANDLES)}@yna.co.kr") for title in titles
    )


def _headline(rng: random.Random, topic: str) -> str:
    headline = f"{topic} {rng.choice(HEADLINE_ENDS)}…{rng.choice(SUBJECTS)[:-1]} " \
        f"{rng.choice(OBJECTS)[:-1]}"
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(HEADLINE_TAGS) + headline
    return headline + "(종합)" if roll < 0.18 else headline


def make_article(seed: int, index: int, published_at: datetime, allocator: CidAllocator
                 ) -> SiteArticle:
    """Yonhap article number `index` for `seed`: a text article (AKR) or a photo item (PYH)."""
    rng = _rng(seed, "yonhap", index)
    published_at = published_at.replace(second=0, microsecond=0)
    topic = rng.choice(TOPICS)
    headline = _headline(rng, topic)
    style = rng.randrange(1_000_000)
    if rng.random() < 0.12:
        cid = allocator.allocate("PYH", published_at, rng, rewrite=False)
        return SiteArticle(
            article_id=cid, section=PHOTO_SECTION, design="current",
            headline=f"{topic} {rng.choice(HEADLINE_ENDS)}", subheadlines=(), places=(),
            reporters=(), photos=(_photo(rng, cid, 1, published_at, topic, "staff"),), body=(),
            published_at=published_at, style=style, publisher=PUBLISHER,
        )
    cid = allocator.allocate("AKR", published_at, rng, rewrite=headline.endswith("(종합)"))
    section = rng.choice(SECTIONS)
    foreign = section.cid == "international" and rng.random() < 0.7
    places = (rng.choice(FOREIGN_PLACES),) if foreign else (rng.choice(PLACES[:3]),)
    if rng.random() < 0.1:
        places = (*places, "서울") if foreign else tuple(rng.sample(PLACES, 2))
    reporters = _reporters(rng, foreign)
    subheadlines = tuple(
        f'{rng.choice(SUBJECTS)[:-1]} "{rng.choice(QUOTES)}"'
        for _ in range(rng.choices((0, 1, 2), weights=(5, 3, 2))[0])
    )
    photos = tuple(
        _photo(rng, cid, number, published_at, topic)
        for number in range(1, 1 + rng.choices((0, 1, 2, 3), weights=(35, 40, 18, 7))[0])
    )
    return SiteArticle(
        article_id=cid, section=section, design="current", headline=headline,
        subheadlines=subheadlines, places=places, reporters=reporters, photos=photos,
        body=tuple(_paragraph(rng, topic) for _ in range(rng.randint(3, 12))),
        published_at=published_at,
        closing_email=reporters[0].email if reporters and rng.random() < 0.9 else None,
        style=style, publisher=PUBLISHER,
    )


def generate_articles(seed: int, count: int, now: datetime, per_hour: float,
                      allocator: CidAllocator) -> list[SiteArticle]:
    """`count` Yonhap articles `per_hour` apart up to `now`, oldest first, the same for the
    same arguments."""
    times = []
    moment = now
    for index in reversed(range(count)):
        moment -= publish_gap(seed + 7919, index, per_hour)
        times.append((index, moment))
    return [make_article(seed, index, at, allocator) for index, at in reversed(times)]


def publish_gap_after(seed: int, index: int, per_hour: float) -> timedelta:
    """Time between Yonhap article `index` and the next (its own stream, not Newsis')."""
    return publish_gap(seed + 7919, index, per_hour)
