"""Read commands: history, show, search, stats; formatting only (diff: commands.diffing)."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from crawler.commands.common import (
    LIMIT_RANGE,
    VERSION_RANGE,
    article_id_named,
    check_time_range,
    db_option,
    fail,
    handle_errors,
    open_db,
    publisher_option,
)
from crawler.commands.terminal import echo, json_safe, styled
from crawler.publishers import publishers
from storage import queries
from storage.search import search, search_terms
from storage.stats import stats

HEADLINE_WIDTH = 60
SNIPPET_WIDTH = 70


# --- options -------------------------------------------------------------------------------------


def time_bound(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """YYYY-MM-DD (a day in KST, as Newsis dates are) or an ISO 8601 time with offset.

    For --until a bare date includes that whole day: the bound is the next midnight (exclusive).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD) or ISO 8601 time: {value!r}") from None
    if when.utcoffset() is None:
        if len(text) != 10:
            raise click.BadParameter(f"give a timezone offset, e.g. {text}+09:00")
        when = check_time_range(when.replace(tzinfo=queries.KST))
        if param.name == "until":
            when += timedelta(days=1)
    return check_time_range(when)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
article_argument = click.argument("article", metavar="ID")


@contextmanager
def reading(db_url: str | None) -> Iterator[Session]:
    """A session on the archive, opened read-only (a query command never creates one)."""
    engine = open_db(db_url, for_writing=False)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _print_json(data: Any) -> None:
    text = json_safe(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
    sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` terminal columns (Hangul takes two) and padded to it."""
    if _width(text) <= width:
        return text + " " * (width - _width(text))
    out, used = [], 0
    for char in text:
        if used + _width(char) > width - 1:
            break
        out.append(char)
        used += _width(char)
    return "".join(out) + "…" + " " * (width - 1 - used)


def _seen(value: datetime | str | None) -> str:
    """A stored time for people: to the minute, UTC (a JSON record's ISO text too)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _lookup(session: Session, article: str, action):
    article_id = article_id_named(article)
    try:
        return action(session, article_id)
    except queries.NotFound as error:
        fail(str(error))


# --- history -------------------------------------------------------------------------------------


@click.command("history")
@article_argument
@json_option
@db_option
@handle_errors
def history_command(article: str, as_json: bool, db_url: str | None) -> None:
    """The versions of article ID (an id or any article URL), with when each was first and last
    seen.

    \b
    ID is an article id or any URL form of it, of any installed publisher:
      NISX20241115_0002960118, https://www.newsis.com/view/NISX20241115_0002960118 (newsis)
      AKR20241115000100001, https://www.yna.co.kr/view/AKR20241115000100001, its m.yna.co.kr
      and /amp/view/ forms, an old www.yonhapnews.co.kr/…/…AKR20180612131400004.HTML (yonhap)

    Exits 1 with one line on stderr when the archive does not hold the article.
    """
    with reading(db_url) as session:
        found = _lookup(session, article, queries.history)
    if as_json:
        _print_json(found.to_dict())
        return
    echo(f"{found.article_id}  {found.url}")
    if found.deleted_at is not None:
        echo(f"deleted since {_seen(found.deleted_at)}: version {found.current_version} was the"
             " last one shown, and stays readable")
    echo(f"{'ver':>4}  {'first seen':<20}  {'last seen':<20}  headline")
    for version in found.versions:
        marker = "*" if version.is_current else " "
        echo(
            f"{version.version:>3}{marker}  {_seen(version.first_seen_at):<20}  "
            f"{_seen(version.last_seen_at):<20}  {_fit(version.headline, HEADLINE_WIDTH).rstrip()}"
        )
    for event in found.events or []:
        echo(f"{event.kind:>9}  {_seen(event.at):<20}  (version {event.version})")


# --- show ----------------------------------------------------------------------------------------


@click.command("show")
@article_argument
@click.option("--version", "version_no", type=VERSION_RANGE, help="Version number.")
@json_option
@db_option
@handle_errors
def show_command(article: str, version_no: int | None, as_json: bool, db_url: str | None) -> None:
    """One version of article ID (default: the current one), readable or as its record (--json).

    ID is an article id or any URL form of it, of any installed publisher (see `history --help`).
    The JSON is the RECORD.md record (times in KST) plus version, first_seen_at, last_seen_at and
    deleted_at (UTC; null unless the publisher took the article down).
    """
    with reading(db_url) as session:
        record = _lookup(session, article, lambda s, i: queries.show(s, i, version_no))
    if as_json:
        _print_json(record)
        return
    if record.get("deleted_at"):
        echo(styled(f"deleted since {_seen(record['deleted_at'])}: the last version seen",
                    fg="red"))
    echo(styled(record["headline"], bold=True))
    for line in record["subheadlines"]:
        echo(f"  {line}")
    reporters = ", ".join(f"{r['name']} {r['title']}" for r in record["reporters"]) or "-"
    echo("")
    for label, value in (
        ("article", f"{record['article_id']}  {record['url']}"),
        ("section", record["section"] or "-"),
        ("published", record["published_at"]),
        ("modified", record["modified_at"] or "-"),
        ("dateline", record["dateline"] or "-"),
        ("reporters", reporters),
        (
            "version",
            f"{record['version']}  (seen {_seen(record['first_seen_at'])}"
            f" .. {_seen(record['last_seen_at'])})",
        ),
    ):
        echo(f"{label:>10}: {value}")
    echo("")
    for number, paragraph in enumerate(record["body"], start=1):
        echo(f"[{number}] {paragraph}")
    for number, caption in enumerate(record["captions"], start=1):
        echo(f"(photo {number}) {caption['text']}  <{caption['image_url']}>")


# --- search --------------------------------------------------------------------------------------


@click.command("search")
@click.argument("words", metavar="TEXT...", nargs=-1, required=True)
@click.option("--since", callback=time_bound, metavar="DATE", help="Published on/after (KST day).")
@click.option(
    "--until", callback=time_bound, metavar="DATE", help="Published on/before (KST day)."
)
@click.option("--section", help="Only this section label (e.g. 정치, 사회).")
@click.option("--reporter", help="Only articles by this reporter (exact name).")
@publisher_option("articles")
@click.option(
    "--limit", type=LIMIT_RANGE, default=20, show_default=True, help="At most this many articles."
)
@json_option
@db_option
@handle_errors
def search_command(
    words: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    section: str | None,
    reporter: str | None,
    publisher_names: tuple[str, ...],
    limit: int,
    as_json: bool,
    db_url: str | None,
) -> None:
    """Articles whose headline, subheadlines, body or captions hold TEXT, newest published first.

    \b
    Several words: a version must hold every one, anywhere and in any order:
      newsarchive search 수시 모집       both words
      newsarchive search "수시 모집"     the phrase, words side by side

    Each TEXT is a literal substring (*, %, AND/OR, quotes inside it mean themselves). Every
    version is searched: an article whose matching text was later edited away shows the
    version that had it. DATE is YYYY-MM-DD (a KST day) or an ISO 8601 time with offset.
    """
    terms = search_terms(words)
    if not terms:
        raise click.UsageError("the search text is empty")
    if since is not None and until is not None and since >= until:
        raise click.UsageError("--since is after --until: no article can match")
    with reading(db_url) as session:
        hits = search(session, terms, since=since, until=until, section=section,
                      reporter=reporter, publishers=publisher_names or None, limit=limit)
    if as_json:
        _print_json([_hit_dict(hit) for hit in hits])
        return
    for hit in hits:
        _print_hit(hit)
    echo(f"{len(hits)} article(s)", err=True)


def _hit_dict(hit: Any) -> dict[str, Any]:
    return {
        "article_id": hit.article_id,
        "version": hit.version,
        "current_version": hit.current_version,
        "published_at": queries.kst_iso(hit.published_at),
        "section": hit.section,
        "headline": hit.headline,
        "reporters": hit.reporters,
        "snippet": hit.snippet,
        "deleted_at": queries.utc_iso(hit.deleted_at),
    }


def _print_hit(hit: Any) -> None:
    published = hit.published_at.astimezone(queries.KST).strftime("%Y-%m-%d %H:%M")
    old = "" if hit.version == hit.current_version else (
        f" (v{hit.version} of {hit.current_version})"
    )
    gone = " [deleted]" if hit.deleted_at is not None else ""
    echo(f"{published}  {hit.article_id}  [{hit.section or '-'}] {hit.headline}{old}{gone}")
    if hit.snippet.strip("…") not in hit.headline:  # the headline, shown just above
        echo(f"    {_fit(hit.snippet, SNIPPET_WIDTH).rstrip()}")


# --- stats ---------------------------------------------------------------------------------------


@click.command("stats")
@publisher_option("the articles, versions, captures and bodies")
@json_option
@db_option
@handle_errors
def stats_command(publisher_names: tuple[str, ...], as_json: bool, db_url: str | None) -> None:
    """Counts of articles, versions, captures (by outcome), stored bodies, crawl runs; sizes.

    Articles, versions and captures are counted for each publisher too (every installed one,
    and any other the archive holds rows of). With --publisher, all but crawl runs and the
    database's size are of those publishers only.
    """
    with reading(db_url) as session:
        numbers = stats(session, publisher_names or None)
    shown = publisher_names or tuple(publishers())
    empty = {"articles": 0, "versions": 0, "captures": 0}
    numbers["by_publisher"] = {
        name: numbers["by_publisher"].get(name, empty)
        for name in sorted({*shown, *numbers["by_publisher"]})
    }
    if as_json:
        _print_json(numbers)
        return
    for label, value in _stats_lines(numbers):
        echo(f"{label:<14} {value}".rstrip())
    run = numbers["last_run"]
    if run:
        echo(
            f"last run #{run['crawl_run_id']} ({run['kind']}, {run['outcome']}) "
            f"{_seen(run['started_at'])} .. {_seen(run['finished_at'])}: "
            f"{run['new_articles']} new, {run['new_versions']} changed, "
            f"{run['unchanged']} unchanged, {run['not_modified']} not modified, "
            f"{run['failed']} failed"
        )


def _stats_lines(numbers: dict[str, Any]) -> list[tuple[str, Any]]:
    ratio = numbers["compression_ratio"]
    return [
        ("articles", numbers["articles"]),
        ("versions", numbers["versions"]),
        ("captures", numbers["captures"]),
        *((f"  {outcome}", count) for outcome, count in numbers["captures_by_outcome"].items()),
        ("publishers", ""),
        *(
            (f"  {name}", f"{counts['articles']} articles, {counts['versions']} versions, "
                          f"{counts['captures']} captures")
            for name, counts in numbers["by_publisher"].items()
        ),
        ("bodies", numbers["bodies"]),
        ("  raw", _size(numbers["bodies_raw_bytes"])),
        ("  stored", _size(numbers["bodies_stored_bytes"])),
        ("  ratio", f"{ratio}x" if ratio else "-"),
        ("crawl runs", numbers["crawl_runs"]),
        ("database", _size(numbers["database_bytes"])),
    ]


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)
