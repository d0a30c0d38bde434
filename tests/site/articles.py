"""The local site's articles: a deterministic generator in Newsis' shapes, and their records."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

KST = timezone(timedelta(hours=9))
REAL_BASE = "https://www.newsis.com"

# The 10-digit serial was reset once, around June 2017 (STRUCTURE.md § Identifiers).
SERIAL_RESET_AT = datetime(2017, 6, 1, tzinfo=KST)
SERIAL_EPOCH = datetime(2010, 1, 1, tzinfo=KST)
# Pages older than this are served in the older design (STRUCTURE.md: "– about 2022").
CURRENT_DESIGN_SINCE = datetime(2023, 1, 1, tzinfo=KST)
# Datelines with full-width brackets before mid-2017: 【서울=뉴시스】.
FULLWIDTH_BRACKETS_BEFORE = SERIAL_RESET_AT


@dataclass(frozen=True, slots=True)
class Section:
    path: str  # 2026 path, e.g. "/society/"
    cid: str
    label: str
    old_path: str | None  # the older site's path, when it had one


# STRUCTURE.md § Sections, plus the photo desk that NISI items belong to (examples/photo-item.html).
SECTIONS = (
    Section("/politic/", "10300", "정치", "/pol/"),
    Section("/world/", "10100", "국제", "/int/"),
    Section("/economy/", "10400", "경제", "/eco/"),
    Section("/money/", "15000", "금융", None),
    Section("/business/", "13000", "산업", "/inds/"),
    Section("/health/", "13100", "IT·바이오", None),
    Section("/society/", "10200", "사회", "/soci/"),
    Section("/metro/", "14000", "수도권", None),
    Section("/region/", "10800", "지방", "/whol/"),
    Section("/culture/", "10700", "문화", "/cul/"),
    Section("/sports/", "10500", "스포츠", "/spo/"),
    Section("/entertainment/", "10600", "연예", "/ent/"),
)
PHOTO_SECTION = Section("/photo/", "10000", "포토", "/pho/")
ALL_SECTIONS = (*SECTIONS, PHOTO_SECTION)
SECTION_BY_CID = {section.cid: section for section in ALL_SECTIONS}

SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류홍전고문양손배백허유남심노하곽성차"
    "주우구민진나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육"
)
GIVEN = "민서준현우지수영은하진주경태성호재윤혜원동혁선희정아상훈철용석찬유나연승미보"
HANDLES = (
    "lovelypsyche",
    "yoon",
    "park7691",
    "ktk",
    "hwang",
    "mangusta",
    "kkssmm99",
    "newsbank",
    "jungmin",
    "hanjh",
    "kimyy",
    "sjh",
    "dazzling",
    "bluesky",
    "jhlee",
    "mkpark",
    "syk",
    "hong1004",
    "choi_s",
    "limjy",
    "seojw",
    "baekho",
    "kangsan",
    "nari",
    "wooj",
    "yeji",
)
PLACES = (
    "서울",
    "세종",
    "부산",
    "대전",
    "광주",
    "인천",
    "수원",
    "춘천",
    "청주",
    "전주",
    "창원",
    "제주",
    "횡성",
    "안동",
    "울산",
)
FOREIGN_PLACES = ("워싱턴", "도쿄", "베이징", "파리", "런던", "뉴욕", "브뤼셀", "모스크바")
AGENCIES = ("AP", "AFP", "EPA", "로이터", "신화", "교도", "UPI")
HANDOUT_ORGS = (
    "농협유통",
    "기획재정부",
    "서울시",
    "삼성전자",
    "엔비디아",
    "문화체육관광부",
    "국립중앙박물관",
    "현대자동차",
)
TOPICS = (
    "반도체 수출",
    "미세먼지 저감",
    "내년 예산안",
    "프로야구 FA 시장",
    "독감 유행",
    "해외 직구 규제",
    "코스피 지수",
    "지하철 노조 파업",
    "대학 수시 모집",
    "K팝 그룹 공연",
    "국제유가",
    "전세 사기 대책",
    "인공지능 투자",
    "저출산 대책",
    "의대 정원",
    "수출 물가",
    "원·달러 환율",
    "R&D 예산",
)
SUBJECTS = (
    "정부는",
    "업계 관계자는",
    "환경부는",
    "한국은행은",
    "서울시는",
    "국회는",
    "전문가들은",
    "기획재정부는",
    "시민단체는",
    "경찰은",
    "대통령실은",
    "교육부는",
    "관계자는",
    "주최 측은",
    "야당은",
    "여당은",
)
OBJECTS = (
    "대책을",
    "방안을",
    "계획을",
    "조치를",
    "입장을",
    "지원책을",
    "일정을",
    "결과를",
    "전망을",
    "대응책을",
)
VERBS = (
    "발표했다",
    "밝혔다",
    "내놓았다",
    "검토하고 있다",
    "추진한다",
    "강조했다",
    "공개했다",
    "설명했다",
)
QUOTES = (
    "현장의 목소리를 충분히 듣겠다",
    "시장 상황을 면밀히 점검하겠다",
    "국민 불편을 최소화하겠다",
    "추가 대책도 검토 중이다",
    "예상보다 빠르게 회복되고 있다",
    "불확실성이 여전히 크다",
)
HEADLINE_ENDS = (
    "발표",
    "추진",
    "논란",
    "확대",
    "마감",
    "본격화",
    "첫 진입",
    "우려",
    "검토",
    "강화",
)
HEADLINE_TAGS = ("[속보] ", "[종합] ", "[단독] ")
PHOTO_ACTIONS = (
    "시민들이 거리를 지나고 있다.",
    "관계자들이 회의를 하고 있다.",
    "참석자들이 기념촬영을 하고 있다.",
    "선수들이 훈련을 하고 있다.",
    "수험생들이 교문을 나서고 있다.",
    "관람객들이 전시를 둘러보고 있다.",
)
REPORTER_TITLES = ("기자", "특파원", "인턴기자", "리포터")


@dataclass(frozen=True, slots=True)
class Reporter:
    name: str
    title: str
    email: str


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo block; `caption_kind` picks how its caption is written (STRUCTURE.md § Text)."""

    image_id: str  # NISI…
    rnd: str  # 14-digit upload stamp, the ?rnd= value
    url_form: str  # "https", "http" or "//" (protocol-relative)
    host: str  # image.newsis.com or img1.newsis.com
    caption_kind: str  # staff, handout, handout_plain, newsisdb, pool, agency
    place: str
    bracket_space: bool  # "[서울=뉴시스] …" vs "[서울=뉴시스]…"
    text: str
    photographer: str | None = None  # staff captions: the name(s)
    photographer_title: str = "기자"
    agency: str | None = None
    org: str | None = None  # handout: who gave the photo
    photo_date: date | None = None
    email: str | None = None
    restricted: bool = False
    fullwidth: bool = False  # 【서울=뉴시스】

    @property
    def path(self) -> str:
        day = self.image_id[4:12]
        return f"/{day[:4]}/{day[4:6]}/{day[6:8]}/{self.image_id}_web.jpg"

    @property
    def src(self) -> str:
        prefix = {"https": "https:", "http": "http:", "//": ""}[self.url_form]
        return f"{prefix}//{self.host}{self.path}?rnd={self.rnd}"

    @property
    def thumbnail(self) -> str:
        return f"//{self.host}{self.path.replace('_web.jpg', '_thm.jpg')}"

    @property
    def record_url(self) -> str:
        # RECORD.md § Captions: absolute, https:, no query string.
        return f"https://{self.host}{self.path}"

    def caption_line(self) -> str:
        """The caption as written under the photo (plain text; the page escapes it)."""
        left, right = ("【", "】") if self.fullwidth else ("[", "]")
        where = (
            f"{self.place}={self.agency}/뉴시스"
            if self.caption_kind == "agency"
            else f"{self.place}=뉴시스"
        )
        parts = [f"{left}{where}{right}" + (" " if self.bracket_space else "")]
        if self.caption_kind == "staff":
            parts.append(f"{self.photographer} {self.photographer_title} = ")
        parts.append(self.text)
        if self.caption_kind == "handout":
            parts.append(f" (사진={self.org} 제공)")
        elif self.caption_kind == "handout_plain":
            parts.append(f" (사진 = {self.org})")
        elif self.caption_kind == "newsisdb":
            parts.append(" (사진=뉴시스DB)")
        elif self.caption_kind == "pool":
            parts.append(" (공동취재사진)")
        if self.photo_date:
            parts.append(f" {self.photo_date:%Y.%m.%d}.")
        if self.email:
            parts.append(f" {self.email}")
        if self.restricted:
            # examples/seed-l3.html: no-break spaces before the restriction mark.
            parts.append("\u00a0\u00a0 *재판매 및 DB 금지")
        return "".join(parts)

    def expected_caption(self) -> dict[str, Any]:
        credit = None
        if self.caption_kind in ("handout", "handout_plain"):
            credit = self.org
        elif self.caption_kind == "newsisdb":
            credit = "뉴시스DB"
        elif self.caption_kind == "pool":
            credit = "공동취재사진"
        elif self.caption_kind == "agency":
            credit = self.agency
        return {
            "image_url": self.record_url,
            "text": self.text,
            "dateline": self.place,
            "photographer": self.photographer if self.caption_kind == "staff" else None,
            "credit": credit,
            "photo_date": self.photo_date.isoformat() if self.photo_date else None,
            "email": self.email,
            "restriction": "재판매 및 DB 금지" if self.restricted else None,
        }


@dataclass(frozen=True, slots=True)
class SiteArticle:
    """One article of the local site, in one version. Edits make a new instance (`version` + 1)."""

    article_id: str
    section: Section
    design: str  # "current" or "older"
    headline: str
    subheadlines: tuple[str, ...]
    places: tuple[str, ...]  # the lead's dateline places: ("서울",) or ("서울", "횡성")
    reporters: tuple[Reporter, ...]
    photos: tuple[Photo, ...]
    body: tuple[str, ...]
    published_at: datetime
    modified_at: datetime | None = None
    deleted: bool = False
    closing_email: str | None = None  # the ◎공감언론 뉴시스 line's address
    style: int = 0  # picks the page's renderings (time labels, spacing, markup) deterministically
    version: int = 1
    changed_at: datetime | None = None  # last change of the page, for Last-Modified
    edits: int = 0

    @property
    def is_photo_item(self) -> bool:
        return self.article_id.startswith("NISI")

    @property
    def url(self) -> str:
        return f"{REAL_BASE}/view/{self.article_id}"

    @property
    def dateline(self) -> str | None:
        return "·".join(self.places) if self.places else None

    @property
    def fullwidth(self) -> bool:
        return self.published_at < FULLWIDTH_BRACKETS_BEFORE

    @property
    def last_modified(self) -> datetime:
        return self.changed_at or self.modified_at or self.published_at

    def lead_prefix(self) -> str:
        """`[서울=뉴시스]이현주 기자 = ` / `【서울=뉴시스】…` / `[세종=뉴시스] ` (no names)."""
        if not self.places:
            return ""
        left, right = ("【", "】") if self.fullwidth else ("[", "]")
        space = " " if self.style % 3 == 1 else ""
        prefix = f"{left}{self.dateline}=뉴시스{right}{space}"
        if self.reporters:
            names = " ".join(reporter.name for reporter in self.reporters)
            prefix += f"{names} {self.reporters[0].title} = "
        elif not space:
            prefix += " "
        return prefix

    def byline(self) -> str:
        """`이현주 기자` as in RSS dc:creator."""
        if not self.reporters:
            return "뉴시스"
        return f"{self.reporters[0].name} {self.reporters[0].title}"


def expected_record(article: SiteArticle) -> dict[str, Any]:
    """The RECORD.md JSON the parser must produce for the article (no parser_version/hash)."""
    reporters = []
    for position, reporter in enumerate(article.reporters):
        email = article.closing_email if position == 0 else None
        reporters.append({"name": reporter.name, "title": reporter.title, "email": email})
    return {
        "source": "newsis",
        "article_id": article.article_id,
        "url": article.url,
        "section": article.section.label,
        "headline": article.headline,
        "subheadlines": list(article.subheadlines),
        "published_at": article.published_at.isoformat(),
        "modified_at": article.modified_at.isoformat() if article.modified_at else None,
        "dateline": article.dateline,
        "reporters": reporters,
        "captions": [photo.expected_caption() for photo in article.photos],
        "body": [] if article.is_photo_item else list(article.body),
    }


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


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(part) for part in (seed, *parts)))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _with(word: str) -> str:
    """The particle 와/과 that fits the word's last syllable (과 after a final consonant)."""
    last = ord(word[-1]) - 0xAC00
    return "과" if 0 <= last < 11172 and last % 28 else "와"


def _sentence(rng: random.Random, topic: str) -> str:
    kind = rng.random()
    day = rng.randint(1, 28)
    if kind < 0.3:
        quote = rng.choice(QUOTES)
        return f'{rng.choice(SUBJECTS)} "{topic} 문제와 관련해 {quote}"고 {rng.choice(VERBS[:2])}.'
    if kind < 0.45:
        subject, what, verb = rng.choice(SUBJECTS), rng.choice(OBJECTS), rng.choice(VERBS)
        return f"{subject} '{topic}'에 대해 {day}일 {what} {verb}."
    if kind < 0.6:
        return (
            f"{day}일 {rng.choice(PLACES)}에서 열린 {topic} 관련 회의에서는 "
            f"{rng.randint(2, 99)}% 이상이 {rng.choice(OBJECTS)} 지지한 것으로 나타났다."
        )
    subject, count = rng.choice(SUBJECTS), rng.randint(2, 12)
    what, verb = rng.choice(OBJECTS), rng.choice(VERBS)
    return f"{subject} {topic}{_with(topic)} 관련해 {count}개 {what} {verb}."


def _paragraph(rng: random.Random, topic: str) -> str:
    return " ".join(_sentence(rng, topic) for _ in range(rng.randint(1, 3)))


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


def make_article(
    seed: int, index: int, published_at: datetime, kind: str, allocator: IdAllocator, now: datetime
) -> SiteArticle:
    """Article number `index` of the site for `seed`; `kind` is "current", "older" or "photo".

    `now` is the site clock: an article made as already edited never shows a later 수정 time.
    """
    rng = _rng(seed, "article", index)
    topic = rng.choice(TOPICS)
    design = "older" if kind == "older" else "current"
    fullwidth = published_at < FULLWIDTH_BRACKETS_BEFORE
    style = rng.randrange(1_000_000)
    published_at = published_at.replace(microsecond=0)
    modified_at = None
    if rng.random() < 0.35:
        modified_at = published_at + timedelta(
            minutes=rng.randint(1, 90), seconds=rng.randint(0, 59)
        )
        if modified_at > now:
            modified_at = None
    if kind == "photo":
        article_id = allocator.allocate("NISI", published_at)
        photo = _photo(rng, allocator, published_at, topic, False, design, kind="staff")
        photo = replace(photo, image_id=article_id)
        headline = f"{topic} {rng.choice(HEADLINE_ENDS)}"
        return SiteArticle(
            article_id=article_id,
            section=PHOTO_SECTION,
            design=design,
            headline=headline,
            subheadlines=(),
            places=(),
            reporters=(),
            photos=(photo,),
            body=(),
            published_at=published_at,
            modified_at=modified_at,
            style=style,
        )
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
    ending, who, what = (
        rng.choice(HEADLINE_ENDS),
        rng.choice(SUBJECTS)[:-1],
        rng.choice(OBJECTS)[:-1],
    )
    headline = f"{topic} {ending}…{who} {what}"
    tag = rng.random()
    if tag < 0.12:
        headline = rng.choice(HEADLINE_TAGS) + headline
    elif tag < 0.18:
        headline += "(종합)"
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
        modified_at=modified_at,
        closing_email=closing_email,
        style=style,
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


def generate_articles(
    seed: int,
    count: int,
    now: datetime,
    per_hour: float = 12.0,
    allocator: IdAllocator | None = None,
) -> list[SiteArticle]:
    """`count` articles published before `now`, oldest first, the same for the same arguments."""
    allocator = allocator or IdAllocator()
    kinds = [article_kind(seed, index) for index in range(count)]
    times: list[datetime] = [now] * count
    moment = now
    for index in reversed(range(count)):
        if kinds[index] == "older":
            times[index] = older_publish_time(seed, index)
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
