"""Where tests find the repository and the reference Newsis example pages kept inside it."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The pages of RECORD.md with their exact records, copied into the repository: a clone has
# nothing beside it.
NEWSIS_EXAMPLES = REPO_ROOT / "tests" / "fixtures" / "newsis" / "examples"
# Yonhap's pages of its RECORD.md, with their records, and its feed, list and sitemap examples.
YONHAP_EXAMPLES = REPO_ROOT / "tests" / "fixtures" / "yonhap" / "examples"
