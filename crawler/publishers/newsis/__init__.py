"""Newsis (www.newsis.com): its URLs and ids, its layouts and their parsers."""
