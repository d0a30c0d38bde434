"""The write path: fetched pages into captures, bodies, articles and versions."""
