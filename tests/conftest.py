import os

from hypothesis import settings

pytest_plugins = ["tests.support.storage_fixtures"]

# Property tests (tests/parsers/test_parsers_fuzz.py): CI runs a fixed set of examples so a red
# build is reproducible; locally they explore. NEWSARCHIVE_TEST_POSTGRES is set by .ci/run only.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") or os.environ.get("NEWSARCHIVE_TEST_POSTGRES"):
    settings.load_profile("ci")

