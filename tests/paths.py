"""Where tests find the repository and the shared Newsis examples (beside the clone, as in CI)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# CI clones the repository into a fresh folder with a copy of shared/ beside it.
SHARED_EXAMPLES = REPO_ROOT.parent / "shared" / "newsis" / "examples"
