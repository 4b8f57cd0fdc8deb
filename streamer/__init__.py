"""The streaming engine: source → tiles → model → stitch → sink, with a live dashboard."""

import gan  # noqa: F401  (chooses the Keras backend and imports it quietly)
