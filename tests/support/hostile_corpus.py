"""Hostile pages for parser and ingest: example and local-site pages, mutated from a seed.

`build_corpus(seed)` is deterministic for a seed: a failure names the seed and the page, and
`NEWSARCHIVE_HOSTILE_SEED=<seed> pytest tests/reliability/test_hostile_pages.py`
replays the same corpus.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.support.article_pages import CAPTURE_BASE, BasePage, base_pages
from tests.support.hostile_mutations import (
    Mutated,
    big_under_cap,
    broken_nesting,
    byte_noise,
    deep_nesting,
    duplicated,
    entity_flood,
    giant_past_cap,
    lying_identity,
    missing_fields,
    not_really_pages,
    nul_bytes,
    odd_text,
    scripts_in_odd_places,
    swapped_blocks,
    truncated,
    wrong_charset,
)

SEED_ENV_VAR = "NEWSARCHIVE_HOSTILE_SEED"
# CI replays one corpus so a red build is reproducible; locally each run tries a new one.
CI_SEED = 20261128


def corpus_seed() -> int:
    """The seed of this run's corpus: $NEWSARCHIVE_HOSTILE_SEED, CI's fixed one, or a new one."""
    if os.environ.get(SEED_ENV_VAR):
        return int(os.environ[SEED_ENV_VAR])
    if os.environ.get("CI") or os.environ.get("NEWSARCHIVE_TEST_POSTGRES"):
        return CI_SEED
    return random.SystemRandom().randrange(2**31)


@dataclass(frozen=True, slots=True)
class HostilePage:
    """One generated bad page: what to feed the parser and ingest, and how it was made."""

    name: str  # "<base>/<mutation>/<n>": shown on failure
    mutation: str
    url: str
    body: bytes
    fetched_at: datetime
    content_type: str


# How many pages each mutation makes in a corpus of 1,000 (scaled for other sizes). Giant pages
# are few: each is 5-7 MB to compress and store, and one proves the cap as well as fifty.
MUTATIONS: dict[str, tuple[Callable[[random.Random, BasePage], Mutated], int]] = {
    "broken_nesting": (broken_nesting, 111),
    "swapped_blocks": (swapped_blocks, 60),
    "giant_past_cap": (giant_past_cap, 6),
    "big_under_cap": (big_under_cap, 2),
    "deep_nesting": (deep_nesting, 60),
    "wrong_charset": (wrong_charset, 100),
    "nul_bytes": (nul_bytes, 60),
    "scripts_in_odd_places": (scripts_in_odd_places, 110),
    "missing_fields": (missing_fields, 120),
    "lying_identity": (lying_identity, 80),
    "truncated": (truncated, 60),
    "byte_noise": (byte_noise, 60),
    "odd_text": (odd_text, 100),
    "entity_flood": (entity_flood, 25),
    "not_really_pages": (not_really_pages, 25),
    "duplicated": (duplicated, 21),
}


def corpus_plan(size: int = 1000) -> list[tuple[str, int]]:
    """(mutation, n) of every page of a corpus of `size`, each mutation in its share."""
    total_weight = sum(weight for _, weight in MUTATIONS.values())
    return [
        (mutation, n)
        for mutation, (_, weight) in MUTATIONS.items()
        for n in range(max(1, round(weight * size / total_weight)))
    ]


def build_corpus(
    seed: int, size: int = 1000, *, shard: int = 0, shards: int = 1, publisher: str = "newsis"
) -> list[HostilePage]:
    """The hostile pages of `seed` (one shard of them) made from `publisher`'s pages, in a
    shuffled arrival order.

    Each page depends only on (seed, mutation, n), so a shard is built without the others.
    Capture times are distinct and increase in arrival order: no page duplicates another.
    """
    plan = corpus_plan(size)
    random.Random(seed).shuffle(plan)
    bases = base_pages(seed, publisher)
    corpus = []
    for index, (mutation, n) in enumerate(plan):
        if index % shards != shard:
            continue
        page_rng = random.Random(f"{seed}:{mutation}:{n}")
        base = page_rng.choice(bases)
        body, url, content_type = MUTATIONS[mutation][0](page_rng, base)
        corpus.append(
            HostilePage(
                name=f"{base.name}/{mutation}/{n}",
                mutation=mutation,
                url=url,
                body=body,
                fetched_at=CAPTURE_BASE + timedelta(seconds=index),
                content_type=content_type,
            )
        )
    return corpus
