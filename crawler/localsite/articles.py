"""The local site's articles: a deterministic generator in Newsis' shapes."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from crawler.localsite.model import (
    CURRENT_DESIGN_SINCE,
    FULLWIDTH_BRACKETS_BEFORE,
    KST,
    PHOTO_SECTION,
    SECTIONS,
    SERIAL_EPOCH,
    SERIAL_RESET_AT,
    Photo,
    Reporter,
    SiteArticle,
)
from crawler.localsite.wording import (
    AGENCIES,
    FOREIGN_PLACES,
    HANDLES,
    HANDOUT_ORGS,
    HEADLINE_ENDS,
    HEADLINE_TAGS,
    OBJECTS,
    PHOTO_ACTIONS,
    PLACES,
    QUOTES,
    REPORTER_TITLES,
    SUBJECTS,
    TOPICS,
    _paragraph,
    _person,
    _rng,
)

# Aged articles (generate_articles): published this many days before the site's now.
AGED_FROM_DAYS, AGED_TO_DAYS = 8, 120


class IdAllocator:
    """Hands out unique NISX/NISI ids whose serial grows with time, like Newsis' serial."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def allocate(self, prefix: str, at: datetime) -> str:
        minutes = int((at - SERIAL_EPOCH).total_seconds() // 60)
        if prefix == "NISI":
            serial = 12_800_000 + minutes  # photo ids run ahead: NISI20241114_0020594012
        elif at >= SERIAL_RESET_AT:
            serial = int((at - SERIAL_RESET_AT).total_seconds() // 80)
        else:
            serial = 5_000_000 + minutes
        while True:
            article_id = f"{prefix}{at:%Y%m%d}_{serial:010d}"
            if article_id not in self.used:
                self.used.add(article_id)
                return article_id
            serial += 1


def _reporters(rng: random.Random, foreign: bool) -> tuple[Reporter, ...]:
    count = rng.choices((1, 2, 3), weights=(75, 18, 7))[0]
    if foreign:
        title = "특파원"
    else:
        title = rng.choices(REPORTER_TITLES, weights=(85, 0, 10, 5))[0]
    return tuple(
        Reporter(_person(rng), title, f"{rng.choice(HANDLES)}@newsis.com") for _ in range(count)
    )


def _photo(
    rng: random.Random,
    allocator: IdAllocator,
    taken_at: datetime,
    topic: str,
    fullwidth: bool,
    design: str,
    kind: str | None = None,
) -> Photo:
    kind = (
        kind
        or rng.choices(
            ("staff", "handout", "handout_plain", "newsisdb", "pool", "agency"),
            weights=(40, 20, 8, 10, 7, 15),
        )[0]
    )
    image_id = allocator.allocate("NISI", taken_at)
    rnd = (taken_at + timedelta(seconds=rng.randint(5, 600))).strftime("%Y%m%d%H%M%S")
    if design == "older":
        url_form = rng.choice(("http", "http", "//"))
        host = rng.choice(("image.newsis.com", "image.newsis.com", "img1.newsis.com"))
    else:
        url_form = rng.choice(("https", "https", "https", "//"))
        host = "image.newsis.com"
    day, place = rng.randint(1, 28), rng.choice(PLACES)
    text = f"{day}일 {place}에서 {topic} 관련 행사가 열린 가운데 {rng.choice(PHOTO_ACTIONS)}"
    photo = Photo(
        image_id=image_id,
        rnd=rnd,
        url_form=url_form,
        host=host,
        caption_kind=kind,
        place=rng.choice(FOREIGN_PLACES) if kind == "agency" else rng.choice(PLACES[:4]),
        bracket_space=rng.random() < 0.5,
        text=text,
        photo_date=taken_at.date(),
        fullwidth=fullwidth,
    )
    if kind == "staff":
        names = " ".join(_person(rng) for _ in range(rng.choices((1, 2), weights=(9, 1))[0]))
        title = rng.choices(("기자", "특파원"), weights=(9, 1))[0]
        return replace(
            photo,
            photographer=names,
            photographer_title=title,
            email=f"{rng.choice(HANDLES)}@newsis.com",
        )
    if kind in ("handout", "handout_plain"):
        return replace(
            photo, org=rng.choice(HANDOUT_ORGS), email="photo@newsis.com", restricted=True
        )
    if kind in ("newsisdb", "pool"):
        return replace(
            photo, email="photo@newsis.com", restricted=kind == "newsisdb" and rng.random() < 0.5
        )
    return replace(photo, agency=rng.choice(AGENCIES), restricted=rng.random() < 0.3)


def _modified_at(rng: random.Random, published_at: datetime, now: datetime) -> datetime | None:
    if rng.random() >= 0.35:
        return None
    modified_at = published_at + timedelta(minutes=rng.randint(1, 90), seconds=rng.randint(0, 59))
    return None if modified_at > now else modified_at


def make_article(
    seed: int, index: int, published_at: datetime, kind: str, allocator: IdAllocator, now: datetime
) -> SiteArticle:
    """Article number `index` of the site for `seed`; `kind` is "current", "older" or "photo".

    `now` is the site clock: an article made as already edited never shows a later 수정 time.
    """
    rng = _rng(seed, "article", index)
    topic = rng.choice(TOPICS)
    design = "older" if kind == "older" else "current"
    style = rng.randrange(1_000_000)
    published_at = published_at.replace(microsecond=0)
    modified_at = _modified_at(rng, published_at, now)
    if kind == "photo":
        article_id = allocator.allocate("NISI", published_at)
        photo = _photo(rng, allocator, published_at, topic, False, design, kind="staff")
        return SiteArticle(
            article_id=article_id,
            section=PHOTO_SECTION,
            design=design,
            headline=f"{topic} {rng.choice(HEADLINE_ENDS)}",
            subheadlines=(),
            places=(),
            reporters=(),
            photos=(replace(photo, image_id=article_id),),
            body=(),
            published_at=published_at,
            modified_at=modified_at,
            style=style,
        )
    article = _text_article(rng, allocator, topic, design, published_at)
    return replace(article, modified_at=modified_at, style=style)


def _headline(rng: random.Random, topic: str) -> str:
    ending, who, what = (
        rng.choice(HEADLINE_ENDS),
        rng.choice(SUBJECTS)[:-1],
        rng.choice(OBJECTS)[:-1],
    )
    headline = f"{topic} {ending}…{who} {what}"
    tag = rng.random()
    if tag < 0.12:
        return rng.choice(HEADLINE_TAGS) + headline
    return headline + "(종합)" if tag < 0.18 else headline


def _text_article(
    rng: random.Random, allocator: IdAllocator, topic: str, design: str, published_at: datetime
) -> SiteArticle:
    fullwidth = published_at < FULLWIDTH_BRACKETS_BEFORE
    if design == "older":
        section = rng.choice([section for section in SECTIONS if section.old_path])
    else:
        section = rng.choice(SECTIONS)
    article_id = allocator.allocate("NISX", published_at)
    foreign = section.cid == "10100" and rng.random() < 0.6
    if foreign:
        places: tuple[str, ...] = (rng.choice(FOREIGN_PLACES),)
    elif rng.random() < 0.1:
        places = tuple(rng.sample(PLACES, 2))  # [서울·횡성=뉴시스]
    else:
        places = (rng.choice(PLACES[:3]) if rng.random() < 0.8 else rng.choice(PLACES),)
    reporters = () if rng.random() < 0.06 else _reporters(rng, foreign)
    headline = _headline(rng, topic)
    subheadlines: tuple[str, ...] = ()
    if design == "current" and rng.random() < 0.5:
        subheadlines = tuple(
            f'{rng.choice(SUBJECTS)[:-1]} "{rng.choice(QUOTES)}"' for _ in range(rng.randint(1, 4))
        )
    body = tuple(_paragraph(rng, topic) for _ in range(rng.randint(3, 14)))
    photo_count = rng.choices((0, 1, 2, 3), weights=(35, 40, 18, 7))[0]
    photos = []
    for _ in range(photo_count):
        # A file photo can be older than the article (STRUCTURE.md § Identifiers).
        back = (
            timedelta(days=rng.randint(1, 400))
            if rng.random() < 0.15
            else timedelta(minutes=rng.randint(5, 300))
        )
        photos.append(_photo(rng, allocator, published_at - back, topic, fullwidth, design))
    if reporters:
        closing_email = reporters[0].email
    else:
        closing_email = "newsis@newsis.com" if rng.random() < 0.5 else None
    return SiteArticle(
        article_id=article_id,
        section=section,
        design=design,
        headline=headline,
        subheadlines=subheadlines,
        places=places,
        reporters=reporters,
        photos=tuple(photos),
        body=body,
        published_at=published_at,
        closing_email=closing_email,
    )


def article_kind(seed: int, index: int, allow_older: bool = True) -> str:
    roll = _rng(seed, "kind", index).random()
    if allow_older and roll < 0.15:
        return "older"
    return "photo" if roll < 0.27 else "current"


def publish_gap(seed: int, index: int, per_hour: float) -> timedelta:
    """Time between article `index` and the next one: random around 60/per_hour minutes."""
    mean = 3600.0 / per_hour
    return timedelta(seconds=int(_rng(seed, "gap", index).uniform(0.2, 1.8) * mean))


def older_publish_time(seed: int, index: int) -> datetime:
    rng = _rng(seed, "older", index)
    start = datetime(2015, 1, 1, 6, tzinfo=KST)
    span = int((CURRENT_DESIGN_SINCE - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(span))


def aged_publish_time(seed: int, index: int, now: datetime) -> datetime:
    """A time 8 to 120 days before `now`: old enough that a revisit is an edit to an old article."""
    rng = _rng(seed, "aged", index)
    return now - timedelta(seconds=rng.randrange(AGED_FROM_DAYS * 86400, AGED_TO_DAYS * 86400))


def generate_articles(
    seed: int,
    count: int,
    now: datetime,
    per_hour: float = 12.0,
    allocator: IdAllocator | None = None,
    aged: int = 0,
) -> list[SiteArticle]:
    """`count` articles published before `now`, oldest first, the same for the same arguments.

    Most are `per_hour` apart up to `now`; about 15% are in the older design (2015-2022); `aged`
    of the others were published weeks before `now` instead.
    """
    allocator = allocator or IdAllocator()
    kinds = [article_kind(seed, index) for index in range(count)]
    newer = [index for index in range(count) if kinds[index] != "older"]
    aged_indices = set(_rng(seed, "aged").sample(newer, min(aged, len(newer))))
    times: list[datetime] = [now] * count
    moment = now
    for index in reversed(range(count)):
        if kinds[index] == "older":
            times[index] = older_publish_time(seed, index)
        elif index in aged_indices:
            times[index] = aged_publish_time(seed, index, now)
        else:
            moment -= publish_gap(seed, index, per_hour)
            times[index] = moment
    # Ids are allocated in publication order so the running serial grows with time.
    order = sorted(range(count), key=lambda index: (times[index], index))
    made = {
        index: make_article(seed, index, times[index], kinds[index], allocator, now)
        for index in order
    }
    return sorted((made[index] for index in range(count)), key=lambda article: article.published_at)


def mark_sitemap_only(seed: int, generated: list[SiteArticle], count: int) -> list[SiteArticle]:
    """`count` of the newer current-design articles marked sitemap-only, picked by the seed."""
    if count <= 0:
        return generated
    newest = [a for a in reversed(generated) if a.design == "current"][: max(20, 2 * count)]
    chosen = _rng(seed, "sitemap_only").sample(newest, min(count, len(newest)))
    picked = {article.article_id for article in chosen}
    return [replace(a, sitemap_only=True) if a.article_id in picked else a for a in generated]
