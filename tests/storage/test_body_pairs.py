"""Pair deltas: a re-fetch with refreshed page chrome is stored small and reads back exactly."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, timedelta

import pytest
import zstandard
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from crawler.archiving import ingest, ingest_many, reparse
from storage import db, export
from storage.bodies import store as bodies
from storage.bodies.codec import body_hash_of, compress_pair, pair_dictionary
from storage.bodies.store import load_bodies
from storage.ingest.write_path import load_body
from storage.models import (
    COMPRESSION_ZSTD_DELTA_PAIR,
    Body,
    Capture,
    Version,
)
from tests.support.storage_fixtures import example_page, fetched

T0 = datetime(2024, 11, 15, 0, 0, tzinfo=UTC)
ARTICLES = ("seed-l3", "older-l2")


def refreshed(raw: bytes, round_no: int) -> bytes:
    """The page as served `round_no` rounds later: Newsis re-renders its news ticker and ranking
    boxes as news comes in, so every article's page carries the same new ~2 KB of headlines."""
    rng = random.Random(round_no)
    headlines = "".join(
        "<li>" + "".join(chr(rng.randrange(0xAC00, 0xD7A4)) for _ in range(30)) + "</li>"
        for _ in range(20)
    )
    ticker = f'<ul class="ticker">{headlines}</ul>'.encode()
    changed = raw.replace(b"</body>", ticker + b"</body>", 1)
    assert changed != raw
    return changed


def page(name: str, round_no: int):
    raw, url, _ = example_page(name)
    body = raw if round_no == 0 else refreshed(raw, round_no)
    return fetched(body, url, T0 + timedelta(hours=round_no, minutes=ARTICLES.index(name)))


def crawl_rounds(session_factory, rounds: int = 3) -> list[bytes]:
    """Every article fetched once a round, one page per ingest (the crawl's writer); the bodies."""
    made = []
    for round_no in range(rounds):
        for name in ARTICLES:
            with session_factory() as session:
                fetch = page(name, round_no)
                ingest(session, fetch)
                made.append(fetch.body)
    return made


def forget_decoded_bodies() -> None:
    # As a fresh process: every body read below comes from the database.
    bodies.base_cache.clear()
    bodies.source_cache.clear()


def replace_with_other_bytes(session, body_hash: str) -> None:
    """The body's data now decodes (a valid frame, stored standalone, without a checksum, as
    frames were before checksums were written) to other bytes: only its hash can tell."""
    wrong = zstandard.ZstdCompressor().compress(b"<html>not the page</html>")
    session.execute(
        update(Body)
        .where(Body.body_hash == body_hash)
        .values(compression="zstd", base_hash=None, data=wrong)
    )
    session.commit()


def pair_bodies(session) -> list[Body]:
    return list(
        session.scalars(select(Body).where(Body.compression == COMPRESSION_ZSTD_DELTA_PAIR))
    )


def test_refetch_with_refreshed_chrome_is_a_small_pair_delta_that_reads_back_exactly(
    session_factory,
):
    made = crawl_rounds(session_factory)
    forget_decoded_bodies()
    with session_factory() as session:
        pairs = pair_bodies(session)
        # Round 2's first page refreshes the chrome source (a plain delta or standalone); the
        # next re-fetch of the round is a pair delta against it and the article's earlier body.
        assert pairs
        for pair in pairs:
            assert pair.stored_size < 300
            chrome, text_base = session.get(Body, pair.base_hash), session.get(
                Body, pair.text_base_hash
            )
            assert chrome.compression != COMPRESSION_ZSTD_DELTA_PAIR
            assert text_base.compression != COMPRESSION_ZSTD_DELTA_PAIR
            assert load_body(session, pair.body_hash) in made
        forget_decoded_bodies()
        hashes = [body_hash for body_hash in session.scalars(select(Body.body_hash))]
        loaded = load_bodies(session, hashes)
        assert sorted(loaded.values()) == sorted(made)
        for body_hash in hashes:
            assert load_body(session, body_hash) == loaded[body_hash]


def test_refetches_in_one_batch_become_pair_deltas_and_read_back_exactly(session_factory):
    with session_factory() as session:
        ingest_many(session, [page(name, 0) for name in ARTICLES])
    batch = [page(name, round_no) for round_no in (1, 2) for name in ARTICLES]
    with session_factory() as session:
        ingest_many(session, batch)
    forget_decoded_bodies()
    with session_factory() as session:
        assert len(pair_bodies(session)) >= 2
        captures = session.scalars(select(Capture).order_by(Capture.fetched_at)).all()
        expected = [page(name, r).body for r in (0, 1, 2) for name in ARTICLES]
        assert [load_body(session, c.body_hash) for c in captures] == expected


def test_warc_export_carries_the_exact_pair_bodies(session_factory, db_url):
    made = crawl_rounds(session_factory)
    forget_decoded_bodies()
    out = io.BytesIO()
    engine = db.make_engine(db_url)  # a reader's: no BEGIN IMMEDIATE
    with Session(engine) as session, Session(engine) as body_session:
        export.write_warc(session, body_session, out)
    engine.dispose()
    payloads = [
        record.content_stream().read()
        for record in ArchiveIterator(io.BytesIO(out.getvalue()))
        if record.rec_type == "response"
    ]
    assert sorted(payloads) == sorted(made)


def test_reparse_of_pair_deltas_gives_the_same_versions(session_factory, archive_engine):
    crawl_rounds(session_factory)
    with session_factory() as session:
        before = [(v.article_id, v.version_no, v.content_hash) for v in session.scalars(
            select(Version).order_by(Version.article_id, Version.version_no)
        )]
        assert pair_bodies(session)
    forget_decoded_bodies()
    summary = reparse(archive_engine, workers=1)
    assert (summary.articles, summary.changed) == (len(ARTICLES), 0)
    with session_factory() as session:
        after = [(v.article_id, v.version_no, v.content_hash) for v in session.scalars(
            select(Version).order_by(Version.article_id, Version.version_no)
        )]
    assert after == before


@pytest.mark.parametrize("source", ["base_hash", "text_base_hash"])
def test_pair_delta_with_a_corrupted_source_is_refused(session_factory, source):
    crawl_rounds(session_factory)
    with session_factory() as session:
        pair = pair_bodies(session)[0]
        replace_with_other_bytes(session, getattr(pair, source))
        forget_decoded_bodies()
        with pytest.raises(ValueError, match="does not match its hash"):
            load_body(session, pair.body_hash)
        forget_decoded_bodies()
        with pytest.raises(ValueError, match="does not match its hash"):
            load_bodies(session, [pair.body_hash])


def test_refetch_against_a_corrupted_text_base_is_still_stored_exactly(session_factory):
    """Storing a re-fetch decodes its article's text base only as a source for the delta, and
    a frame stored without a checksum (before checksums were written) unchecked by sha256
    (load_bodies): such a text base whose data decodes to other bytes does not stop the crawl
    storing that article (here the delta against it is too large and the body is stored
    otherwise), and the new body reads back exactly (checked by its hash)."""
    crawl_rounds(session_factory, rounds=2)
    with session_factory() as session:
        text_hash = pair_bodies(session)[0].text_base_hash
        replace_with_other_bytes(session, text_hash)
    forget_decoded_bodies()
    refetch = next(
        page(name, 2)
        for name in ARTICLES
        if body_hash_of(page(name, 0).body) == text_hash
    )
    with session_factory() as session:
        ingest(session, refetch)
    forget_decoded_bodies()
    with session_factory() as session:
        assert load_body(session, body_hash_of(refetch.body)) == refetch.body
        with pytest.raises(ValueError, match="does not match its hash"):
            load_body(session, text_hash)


def test_every_stored_frame_carries_its_checksum_and_a_changed_byte_is_refused(
    session_factory,
):
    """Bodies are checked on reading by their frame's checksum (zstd's XXH64 of the bytes
    compressed) instead of a new sha256: every kind of frame must carry one, and a frame whose
    stored bytes changed must not read back."""
    crawl_rounds(session_factory)
    with session_factory() as session:
        stored = session.scalars(select(Body)).all()
        assert {body.compression for body in stored} >= {"zstd", COMPRESSION_ZSTD_DELTA_PAIR}
        assert all(zstandard.get_frame_parameters(body.data).has_checksum for body in stored)
        largest = max(stored, key=lambda body: len(body.data))
        changed = bytearray(largest.data)
        changed[len(changed) // 2] ^= 0x20
        session.execute(
            update(Body).where(Body.body_hash == largest.body_hash).values(data=bytes(changed))
        )
        session.commit()
        forget_decoded_bodies()
        with pytest.raises(ValueError, match="does not match its hash"):
            load_body(session, largest.body_hash)


def test_downgrade_reencodes_pair_deltas_and_upgrade_keeps_the_bytes(db_url):
    db.upgrade(db_url)
    engine = db.open_archive(db_url, for_writing=True)
    try:
        made = crawl_rounds(db.make_session_factory(engine))
        with Session(engine) as session:
            assert pair_bodies(session)
    finally:
        engine.dispose()
    script = ScriptDirectory.from_config(db.alembic_config(db_url))
    previous = script.get_revision("0005").down_revision
    db.downgrade(db_url, previous)
    engine = db.make_engine(db_url)
    with engine.connect() as connection:
        kinds = set(connection.execute(text("SELECT compression FROM bodies")).scalars())
    engine.dispose()
    assert COMPRESSION_ZSTD_DELTA_PAIR not in kinds
    db.upgrade(db_url)
    forget_decoded_bodies()
    engine = db.open_archive(db_url, for_writing=True)
    try:
        with Session(engine) as session:
            hashes = list(session.scalars(select(Body.body_hash)))
            assert sorted(load_bodies(session, hashes).values()) == sorted(made)
    finally:
        engine.dispose()


@pytest.mark.parametrize("page_kb", [1, 135, 300, 1500])
def test_pair_delta_made_with_a_prefix_decodes_with_the_pair_dictionary(page_kb):
    """compress_pair hands zstd its sources as a prefix; every reader decodes with them as a
    raw-content dictionary (python-zstandard). Pages far larger than Newsis's come back exactly
    too, though their sources then lie past zstd's window at this level and the delta is large
    (kept as a plain delta instead: PAIR_KEEP_SIZE)."""
    rng = random.Random(page_kb)
    size = page_kb * 1024
    chrome, text_base = rng.randbytes(size), rng.randbytes(size)
    raw = text_base[: size // 3] + rng.randbytes(500) + chrome[size // 2 :] + text_base[:200]
    data = compress_pair(raw, chrome, text_base)
    decoder = zstandard.ZstdDecompressor(dict_data=pair_dictionary(chrome, text_base))
    assert decoder.decompress(data) == raw
    if page_kb <= 300:
        assert len(data) < 1_000  # the sources' blocks were found, not stored
