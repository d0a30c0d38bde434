"""The parts every local-site page shares: head, navigation, ranking boxes, footer, scripts."""

# The markup mirrors tests/fixtures/newsis/examples line for line, so its long lines stay as they are.
# ruff: noqa: E501

from __future__ import annotations

import random
from html import escape

from crawler.localsite.model import ALL_SECTIONS, SECTIONS

TITLE_SUFFIX = " :: 공감언론 뉴시스 ::"
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


def html_head(title: str, metas: str, chrome: Chrome) -> str:
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
