"""Yonhap News Agency (www.yna.co.kr): its URLs and ids, its layouts and their parsers."""
