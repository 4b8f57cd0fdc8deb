"""The streaming engine: source → tiles → model → stitch → sink, with a live dashboard."""
