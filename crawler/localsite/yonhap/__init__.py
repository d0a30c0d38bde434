"""The local site's Yonhap-like edition: its articles, pages, lists, feeds, sitemaps, listener."""
