"""The request pipeline: auth → middleware → rate limit → circuit breaker → retry → transport."""

from __future__ import annotations
