import os

from hypothesis import settings

pytest_plugins = ["tests.support.storage_fixtures"]

# Property tests (tests/parsers/test_parsers_fuzz.py): CI runs a fixed set of examples so a red
# build is reproducible; locally they explore. NEWSARCHIVE_TEST_POSTGRES is set by .ci/run only.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") or os.environ.get("NEWSARCHIVE_TEST_POSTGRES"):
    settings.load_profile("ci")

# The folders whose tests run longest (crawls, workers and killed processes as subprocesses),
# handed out first: xdist deals tests in collection order, and a long test dealt last keeps one
# worker busy while the other idles.
SLOW_FOLDERS_FIRST = ("reliability", "scaleout", "crawl")


def pytest_collection_modifyitems(items) -> None:
    def folder_rank(item) -> int:
        parts = item.path.parts
        folder = parts[parts.index("tests") + 1] if "tests" in parts else ""
        return SLOW_FOLDERS_FIRST.index(folder) if folder in SLOW_FOLDERS_FIRST else len(
            SLOW_FOLDERS_FIRST
        )

    items.sort(key=folder_rank)  # stable: each module's tests stay together and in order
