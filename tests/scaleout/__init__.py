"""Tests of scaleout."""
