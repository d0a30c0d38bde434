"""The archive's read-only web viewer: changes, articles, diffs, captures, search, crawl health."""
