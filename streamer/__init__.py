"""The streaming engine: source → tiles → model → stitch → sink, with a live dashboard."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
