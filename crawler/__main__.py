"""`python -m crawler` runs the `newsarchive` command line (where the console script is absent)."""

from crawler.cli import main

if __name__ == "__main__":
    main()
