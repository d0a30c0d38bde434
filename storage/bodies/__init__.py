"""Raw response bodies: stored once per sha256, zstd-compressed, most as deltas."""
