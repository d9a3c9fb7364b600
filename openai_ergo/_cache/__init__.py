"""The response cache: exact and semantic matches behind a small async backend interface
(docs/caching.md)."""
