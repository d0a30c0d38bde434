"""The local site's pages as bytes: articles (both designs), error, lists, feeds, robots, sitemaps."""

# The markup mirrors tests/fixtures/newsis/examples line for line, so its long lines stay as they are.
# ruff: noqa: E501

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from crawler.localsite.model import ALL_SECTIONS, REAL_BASE, SECTIONS, SiteArticle

LIST_PAGE_SIZE = 20
TITLE_SUFFIX = " :: 공감언론 뉴시스 ::"
PHOTO_DESK_FOOTER = (
    "[사진 영상 제보받습니다] 공감언론 뉴시스가 독자 여러분의 소중한 제보를 기다립니다. "
    "뉴스 가치나 화제성이 있다고 판단되는 사진 또는 영상을 뉴시스 사진영상부(n-photo@newsis.com)로 "
    "보내주시면 적극 반영하겠습니다."
)
COPYRIGHT = (
    '<div class="copyright">저작권자 &copy; 공감언론 뉴시스통신사. 무단전재-재배포 금지.</div>'
)

_HEAD_LINKS = """<link rel="stylesheet" type="text/css" href="/css/common.css?v=20241101">
<link rel="stylesheet" type="text/css" href="/css/view.css?v=20241101">
<script type="text/javascript" src="/js/jquery-3.6.0.min.js"></script>
<script type="text/javascript" src="/js/common.js?v=20241101"></script>
<script type="text/javascript">
  var _gaq = _gaq || [];
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
</script>
"""
_FOOTER = """<div id="footer">
  <div class="fLink"><a href="/intro/">회사소개</a> <a href="/intro/privacy/">개인정보처리방침</a> <a href="/intro/youth/">청소년보호정책</a> <a href="/RSS/">RSS</a></div>
  <address>서울특별시 중구 퇴계로 173 남산스퀘어빌딩 17층 | 대표전화 02-721-7400</address>
  <p class="copy">Copyright &copy; NEWSIS.COM All rights reserved.</p>
</div>
"""
_SUB_LABELS = (
    "종합",
    "일반",
    "정책",
    "이슈",
    "기획",
    "인물",
    "동정",
    "현장",
    "분석",
    "칼럼",
    "포토",
    "영상",
    "지역",
    "해외",
    "단신",
    "인터뷰",
    "카드뉴스",
    "오피니언",
    "전체",
    "속보",
)


class Chrome:
    """The page parts every page shares (navigation, ranking boxes, scripts): >= 100 KB, built once."""

    def __init__(self, seed: int, headlines: list[tuple[str, str]]) -> None:
        rng = random.Random(f"{seed}:chrome")
        links = headlines or [("NISX20241115_0002960118", "뉴시스")]
        self.head = _HEAD_LINKS + self._ad_config(rng)
        self.header = self._header(rng, links)
        self.rank = self._rank_boxes(rng, links)
        self.tail = _FOOTER + self._menu_script(rng)

    @staticmethod
    def _ad_config(rng: random.Random) -> str:
        slots = ",".join(
            f'{{"id":"div-gpt-ad-{n}","unit":"/21683707/newsis_pc_{n}","size":[{rng.choice((300, 728, 160))},'
            f'{rng.choice((250, 90, 600))}],"targeting":{{"section":"{rng.choice(SECTIONS).label}","pos":"{n}"}}}}'
            for n in range(160)
        )
        return f'<script type="text/javascript">\nvar adSlots = [{slots}];\n</script>\n'

    @staticmethod
    def _header(rng: random.Random, links: list[tuple[str, str]]) -> str:
        gnb = "\n".join(
            f'      <li id="top_{s.cid}"><a href="{s.path}?cid={s.cid}">{s.label}</a></li>'
            for s in SECTIONS
        )
        menu = []
        for section in ALL_SECTIONS:
            items = "".join(
                f'<li><a href="{section.path}list/?cid={section.cid}&amp;scid={int(section.cid) + n}">'
                f"{section.label} {label}</a></li>"
                for n, label in enumerate(_SUB_LABELS, start=1)
            )
            menu.append(
                f'<div class="menuBox"><p class="menuTit">{section.label}</p><ul>{items}</ul></div>'
            )
        quick = "\n".join(
            f'    <li pushdate="{rng.randint(20241101000000, 20241131235959)}"><a href="/view/{article_id}">'
            f"[속보] {escape(headline)}</a></li>"
            for article_id, headline in rng.sample(links, min(6, len(links)))
        )
        return f"""<div id="header">
  <div class="topBar"><a href="/" class="logo"><img src="//image.newsis.com/new_www/images/logo.png" alt="뉴시스"></a>
    <div class="util"><a href="/RSS/">RSS</a> <a href="/realnews/">최신기사</a> <a href="https://mobile.newsis.com">모바일</a></div>
  </div>
  <div id="gnb">
    <ul class="gnbList">
{gnb}
    </ul>
  </div>
  <div id="allMenu" style="display:none">{"".join(menu)}</div>
  <div class="quickNews"><ul class="newsList">
{quick}
  </ul></div>
</div>
"""

    @staticmethod
    def _rank_boxes(rng: random.Random, links: list[tuple[str, str]]) -> str:
        boxes = ['<div class="rankBox"><p class="boxTit">많이 본 기사</p>']
        for tab, label in enumerate(
            ("종합", "정치", "경제", "사회", "국제", "문화", "스포츠", "연예"), start=1
        ):
            picks = [rng.choice(links) for _ in range(10)]
            items = [
                f'<li><span class="num">{n}</span><a href="/view/{article_id}">{escape(headline)}</a></li>'
                for n, (article_id, headline) in enumerate(picks, start=1)
            ]
            boxes.append(
                f'<div class="sectName"><div class="tit"><a href="#topnews{tab}">{label}</a></div></div>'
                f'<div id="topnews{tab}"><ul class="left">{"".join(items[:5])}</ul>'
                f'<ul class="right">{"".join(items[5:])}</ul></div>'
            )
        boxes.append("</div>\n")
        return "".join(boxes)

    @staticmethod
    def _menu_script(rng: random.Random) -> str:
        entries = ",".join(
            f'{{"no":{n},"title":"{section.label} {rng.choice(_SUB_LABELS)} 주요 뉴스 모음 {n}",'
            f'"url":"{section.path}list/?cid={section.cid}&scid={int(section.cid) + n % 20}",'
            f'"banner":"//image.newsis.com/banner/{rng.randint(100000, 999999)}.jpg"}}'
            for n in range(520)
            for section in (rng.choice(ALL_SECTIONS),)
        )
        return (
            '<script type="text/javascript">\nvar newsisMenuData = ['
            + entries
            + '];\n$(function(){ $("#gnb li").hover(function(){ $("#allMenu").show(); }); });\n</script>\n'
        )


def _html_head(title: str, metas: str, chrome: Chrome) -> str:
    return f"""<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=1280">
<title>{escape(title)}{TITLE_SUFFIX}</title>
{metas}{chrome.head}</head>
<body>
<div id="wrap">
{chrome.header}"""


def _text(text: str, style: int, slot: int) -> str:
    """Escaped text, sometimes with a no-break space or a zero-width space the parser must clean."""
    quirk = (style >> slot) % 11
    if quirk == 1 and len(text) > 3:
        text = text[:2] + "\u200b" + text[2:]
    html = escape(text)
    if quirk == 0 and " " in html:
        html = html.replace(" ", "&nbsp;", 1)
    elif quirk == 2 and " " in html:
        first, rest = html.split(" ", 1)
        html = f"<b>{first}</b> {rest}"
    return html


def _lead_text(article: SiteArticle) -> str:
    first = article.body[0] if article.body else ""
    return article.lead_prefix() + first


def _description(article: SiteArticle) -> str:
    if article.is_photo_item:
        return article.photos[0].caption_line()
    return (_lead_text(article) + (article.body[1] if len(article.body) > 1 else ""))[:150]


def _times_current(article: SiteArticle) -> str:
    # STRUCTURE.md § current design: 등록/기사등록/입력 and 수정/최종수정 with ., / or - separators.
    labels, pattern = (
        (("등록", "수정"), "%Y.%m.%d %H:%M:%S"),
        (("기사등록", "최종수정"), "%Y/%m/%d %H:%M:%S"),
        (("입력", "수정"), "%Y-%m-%d %H:%M:%S"),
    )[article.style % 3 if not article.is_photo_item else 0]
    spans = f"<span>{labels[0]} {article.published_at.strftime(pattern)}</span>"
    if article.modified_at:
        spans += f"<span>{labels[1]} {article.modified_at.strftime(pattern)}</span>"
    return spans


def _thumcont(photo_src: str, alt: str, caption: str) -> str:
    return (
        '<div class="thumCont"><div><div><table><tbody><tr><td class="img">'
        f'<img src="{photo_src}" alt="{escape(alt)}" onerror="this.src=\'//image.newsis.com/noimg.jpg\'">'
        f'</td></tr></tbody></table></div></div><p class="photojournal">{caption}</p></div>\n'
    )


def _caption_html(caption: str) -> str:
    return escape(caption).replace("\u00a0", "&nbsp;")


_VIEW_AD = (
    '<div id="view_ad"><script type="text/javascript">googletag.cmd.push(function(){'
    'googletag.display("div-gpt-ad-1");});</script><iframe src="//ad.example.invalid/view_middle" '
    'width="300" height="250" frameborder="0" scrolling="no"></iframe></div>\n'
)


def _photo_positions(article: SiteArticle) -> dict[int, list[int]]:
    """Which photos go before which paragraph: the first before the lead or after it, the rest spread."""
    positions: dict[int, list[int]] = {}
    count = len(article.body)
    for number in range(len(article.photos)):
        if number == 0:
            where = 0 if article.style % 4 else min(1, count)
        else:
            where = min(count, 1 + number * max(1, count // (len(article.photos) + 1)))
        positions.setdefault(where, []).append(number)
    return positions


def _current_body(article: SiteArticle) -> str:
    br = ("<br>", "<br/>", "<br />")[article.style // 7 % 3]
    separator = br * 2 if article.style % 5 else br * 3  # empty runs the parser must drop
    parts = ['<article itemprop="articleBody">\n']
    if article.subheadlines:
        inner = (br * 2 if article.style % 2 else br).join(
            escape(line) for line in article.subheadlines
        )
        parts.append(f'<div class="summury">{inner}</div>\n')
    if article.is_photo_item:
        photo = article.photos[0]
        parts.append(_thumcont(photo.src, "", _caption_html(photo.caption_line())))
        parts.append(f"{PHOTO_DESK_FOOTER}{br}\n\n</article>\n")
        return "".join(parts)
    positions = _photo_positions(article)
    ad_after = min(len(article.body) - 1, 4)
    for number, paragraph in enumerate(article.body):
        for photo_no in positions.get(number, []):
            photo = article.photos[photo_no]
            parts.append(
                _thumcont(photo.src, article.headline[:12], _caption_html(photo.caption_line()))
            )
        text = _text(paragraph, article.style, number)
        if number == 0:
            text = escape(article.lead_prefix()) + text
        parts.append(f"{text}{separator}\n")
        if number == ad_after:
            parts.append(_VIEW_AD)
    for photo_no in positions.get(len(article.body), []):
        photo = article.photos[photo_no]
        parts.append(_thumcont(photo.src, "", _caption_html(photo.caption_line())))
    if article.photos and article.style % 6 == 0:
        parts.append(f"{PHOTO_DESK_FOOTER}{br}\n")
    if article.closing_email:
        parts.append(f"{br}\n◎공감언론 뉴시스 {article.closing_email}{br}\n")
    parts.append("\n</article>\n")
    hidden = ' style="display:none"' if article.style % 8 else ""
    parts.append(
        f'<div id="textBody" class="textBody"{hidden}>{escape(_lead_text(article))}</div>\n'
    )
    return "".join(parts)


def _current_article(article: SiteArticle, chrome: Chrome) -> tuple[str, str]:
    section = article.section
    og_image = article.photos[0].src.split("?")[0] if article.photos else ""
    if og_image.startswith("//"):
        og_image = "https:" + og_image
    metas = (
        f'<meta name="description" content="{escape(_description(article))}">\n'
        '<meta property="og:type" content="article">\n<meta property="og:site_name" content="뉴시스">\n'
        f'<meta property="og:title" content="{escape(article.headline)}">\n'
        f'<meta property="og:url" content="{article.url}">\n'
        + (f'<meta property="og:image" content="{og_image}">\n' if og_image else "")
        + f'<meta property="og:description" content="{escape(_description(article))}">\n'
        f'<meta property="article:published_time" content="{article.published_at.isoformat()}">\n'
        f'<link rel="canonical" href="{article.url}">\n'
    )
    top = _html_head(article.headline, metas, chrome)
    middle = f"""<div id="container">
<div id="content">
<div class="articleView">
<div class="view">
<div class="top"><p class="tit"><a href="{section.path}list/?cid={section.cid}&amp;scid={int(section.cid) + 1}">{section.label}</a></p>
<h1 class="tit title_area">{escape(article.headline)}</h1></div>
<div class="infoLine"><div class="left"><p class="txt">{_times_current(article)}</p></div>
<div class="right"><button type="button" class="btnSmall">작게</button><button type="button" class="btnBig">크게</button><a href="#" class="share fb">페이스북</a><a href="#" class="share tw">X</a></div></div>
<div class="viewer">
{_current_body(article)}{COPYRIGHT}
</div>
</div>
</div>
"""
    return top, middle


def _older_article(article: SiteArticle, chrome: Chrome) -> tuple[str, str]:
    section = article.section
    og_url = f"http://www.newsis.com/view/?id={article.article_id}"
    metas = (
        f'<meta property="og:title" content="{escape(article.headline)}">\n'
        f'<meta property="og:description" content="{escape(_description(article))}">\n'
        f'<meta property="og:url" content="{og_url}">\n'
    )
    top = _html_head(article.headline, metas, chrome)
    times = f"등록 {article.published_at:%Y-%m-%d %H:%M:%S}"
    if article.modified_at:
        times += f' <span class="bar">|</span> 수정 {article.modified_at:%Y-%m-%d %H:%M:%S}'
    parts = []
    positions = _photo_positions(article)
    for number, paragraph in enumerate(article.body):
        for photo_no in positions.get(number, []):
            photo = article.photos[photo_no]
            parts.append(
                f'<div class="view_img"><img src="{photo.src}" alt="">'
                f'<p class="desc">{_caption_html(photo.caption_line())}</p></div>\n'
            )
        text = _text(paragraph, article.style, number)
        if number == 0:
            text = escape(article.lead_prefix()) + text
        parts.append(f"{text}<br />\n")
    for photo_no in positions.get(len(article.body), []):
        photo = article.photos[photo_no]
        parts.append(
            f'<div class="view_img"><img src="{photo.src}" alt=""><p class="desc">'
            f"{_caption_html(photo.caption_line())}</p></div>\n"
        )
    if article.closing_email:
        parts.append(f"<br />\n◎공감언론 뉴시스 {article.closing_email}<br />\n")
    old_path = section.old_path or section.path
    middle = f"""<div id="container">
<div class="subMenu"><div><p><a href="{old_path}?cid={section.cid}">{section.label}</a></p></div></div>
<div id="article">
<div class="article_tbx mgt8 w970"><span class="date"></span>
<h1>{escape(article.headline)}</h1>
<div class="date">{times}</div></div>
<div class="article_bx"><div class="view_text"><div id="textBody">
{"".join(parts)}
</div></div></div>
</div>
"""
    return top, middle


def render_article(article: SiteArticle, chrome: Chrome) -> bytes:
    if article.design == "older":
        top, middle = _older_article(article, chrome)
    else:
        top, middle = _current_article(article, chrome)
    return (
        top + middle + chrome.rank + "</div>\n" + chrome.tail + "</div>\n</body>\n</html>\n"
    ).encode()


def render_error(chrome: Chrome) -> bytes:
    # examples/not-found.html: Newsis answers 200 with this page, GISA FILE NOT EXISTS included.
    top = _html_head("뉴시스", "", chrome)
    return (
        top
        + '<div id="container"><div id="content"><div class="errorBox"><p class="mgt18">GISA FILE NOT EXISTS</p>'
        '<p>요청하신 기사를 찾을 수 없습니다.</p><a href="/">뉴시스 홈으로</a></div></div></div>\n'
        + chrome.tail
        + "</div>\n</body>\n</html>\n"
    ).encode()


ON = ' class="on"'


def _paging(page: int, last: int, query_prefix: str) -> str:
    start = (page - 1) // 10 * 10 + 1
    links = "".join(
        f'<a href="?{query_prefix}page={n}"{ON if n == page else ""}>{n}</a>'
        for n in range(start, min(start + 9, last) + 1)
    )
    buttons = ""
    if start + 10 <= last:
        buttons += (
            f'\n <button type="button" class="next" '
            f"onclick=\"location.href='?{query_prefix}page={start + 10}'\">다음</button>"
        )
    buttons += (
        f'\n <button type="button" class="end" '
        f"onclick=\"location.href='?{query_prefix}page={last}'\">끝</button>"
    )
    return f'<div id="paging_t1">\n <span class="num">{links}</span>{buttons}\n</div>\n'


def _list_item(article: SiteArticle) -> str:
    thumb = ""
    if article.photos:
        thumb = (
            f'<div class="thumCont"><a href="/view/{article.article_id}">'
            f'<img src="{article.photos[0].thumbnail}" alt=""></a></div>'
        )
    lede = _lead_text(article) if article.body else article.photos[0].caption_line()
    byline = article.byline().replace(" ", "")
    return (
        f'<li><div class="boxStyle05">{thumb}<div class="txtCont">'
        f'<p class="tit"><a href="/view/{article.article_id}">{escape(article.headline)}</a></p>'
        f'<p class="txt"><a href="/view/{article.article_id}">{escape(lede[:90])}...</a></p>'
        f'<p class="time"><span>{escape(byline)}</span>{article.published_at:%Y.%m.%d %H:%M:%S}</p>'
        "</div></div></li>\n"
    )


def render_list(
    title: str, newest_first: list[SiteArticle], page: int, query_prefix: str, chrome: Chrome
) -> bytes:
    """One list page (examples/list-page.html): 20 items, newest first, paging by blocks of 10."""
    last = max(1, -(-len(newest_first) // LIST_PAGE_SIZE))
    items = newest_first[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    top = _html_head(title, "", chrome)
    body = (
        '<div id="container">\n<div id="content">\n<ul class="articleList2">\n'
        + "".join(_list_item(article) for article in items)
        + "</ul>\n"
        + _paging(page, last, query_prefix)
        + chrome.rank
        + "</div>\n</div>\n"
    )
    return (top + body + chrome.tail + "</div>\n</body>\n</html>\n").encode()


def _rss_description(article: SiteArticle) -> str:
    parts = [f'<p><img src="{photo.src}" /></p><br />' for photo in article.photos]
    if article.is_photo_item:
        parts.append(article.photos[0].caption_line())
    else:
        paragraphs = list(article.body)
        paragraphs[0] = article.lead_prefix() + paragraphs[0]
        parts.append("<br /><br />".join(paragraphs))
        if article.closing_email:
            parts.append(f"<br /><br />◎공감언론 뉴시스 {article.closing_email}")
    return "".join(parts)


def render_rss(label: str, newest_first: list[SiteArticle], now: datetime) -> bytes:
    """An RSS 2.0 feed (examples/rss-sokbo.xml); links name the real host, as Newsis' feeds do."""
    items = "".join(
        f"<item>\n<title><![CDATA[{article.headline}]]></title>\n<link>{article.url}</link>\n"
        f"<description><![CDATA[{_rss_description(article)}]]></description>\n"
        f"<dc:creator>{escape(article.byline())}</dc:creator>\n"
        f"<pubDate>{format_datetime(article.published_at)}</pubDate>\n</item>\n"
        for article in newest_first
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"<channel>\n<title>뉴시스 - {label}</title>\n<link>{REAL_BASE}</link>\n"
        f"<description>공감언론 뉴시스 {label}</description>\n<language>ko</language>\n"
        f"<lastBuildDate>{format_datetime(now)}</lastBuildDate>\n{items}</channel>\n</rss>\n"
    ).encode()


def render_robots() -> bytes:
    return (
        "User-agent: *\nDisallow: /common/\nDisallow: /search/\nDisallow: /ar_detail/\n\n"
        f"Sitemap: {REAL_BASE}/sitemap.xml\nSitemap: {REAL_BASE}/newsis_news_google.xml\n"
    ).encode()


def render_sitemap(newest_first: list[SiteArticle]) -> bytes:
    urls = "".join(
        f"<url><loc>{article.url}</loc><lastmod>{article.last_modified.isoformat()}</lastmod></url>\n"
        for article in newest_first
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
    ).encode()


def render_news_sitemap(newest_first: list[SiteArticle]) -> bytes:
    """Google News sitemap: the articles of the last two days."""
    urls = "".join(
        f"<url><loc>{article.url}</loc><news:news><news:publication><news:name>뉴시스</news:name>"
        "<news:language>ko</news:language></news:publication>"
        f"<news:publication_date>{article.published_at.isoformat()}</news:publication_date>"
        f"<news:title>{escape(article.headline)}</news:title></news:news></url>\n"
        for article in newest_first
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{urls}</urlset>\n'
    ).encode()


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)
