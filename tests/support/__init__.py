"""What the tests share: pages, archives, crawls, corpora; no tests here."""
