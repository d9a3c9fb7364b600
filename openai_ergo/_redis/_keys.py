"""`RedisKeyCooldowns`: a `KeyPool`'s revoked and cooling keys, known to every process.

A key is named in Redis only by its fingerprint (a SHA-256 digest, `key_fingerprint`),
never by its value: `prefix:keys:<fingerprint>:revoked` marks a key answered with 401 (kept
`revoked_ttl` seconds), and `prefix:keys:<fingerprint>:cooling` a key answered with 429, with a
Redis expiry as long as its cool-down, so no clock but Redis's decides when it is over. A pool
reads the state of all its keys in one round trip (a Lua script: EXISTS and PTTL per key).

While Redis is unavailable, nothing is shared: each pool goes on with what it saw itself, and
the connection logs the outage once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import final

from openai_ergo._errors import InvalidRequestError, RedisUnavailableError
from openai_ergo._redis._connection import RedisConnection

__all__ = ["RedisKeyCooldowns"]

_FINGERPRINT = re.compile(r"[0-9a-f]{32}")

# KEYS: revoked and cooling key of each fingerprint, in pairs. Answers {exists, pttl} pairs.
_PULL = """
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('EXISTS', KEYS[i])
  out[#out + 1] = redis.call('PTTL', KEYS[i + 1])
end
return out
"""

# KEYS: cooling key. ARGV: cool-down in ms. Never shortens a longer cool-down.
_COOL = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return 1
end
return 0
"""


@final
class RedisKeyCooldowns:
    """Shares a `KeyPool`'s revocations and cool-downs through Redis:
    `KeyPool(keys, shared=RedisKeyCooldowns(redis))` in every process.

    A key one process saw revoked (401) is skipped by every process for `revoked_ttl` seconds
    (a day by default: a revoked key stays revoked, and a new key has a new fingerprint); a key
    one process saw rate-limited (429) cools down in every process for the same time. Keys are
    stored only as fingerprints, never their value.
    """

    __slots__ = ("_cool", "_pull", "redis", "revoked_ttl")

    def __init__(self, redis: RedisConnection, *, revoked_ttl: float = 86400.0) -> None:
        if not isinstance(redis, RedisConnection):
            raise TypeError(
                f"RedisKeyCooldowns(redis=...) takes a RedisConnection, not {type(redis).__name__}"
            )
        if isinstance(revoked_ttl, bool) or not revoked_ttl >= 1:
            raise InvalidRequestError(
                f"revoked_ttl must be seconds >= 1, not {revoked_ttl!r}", param="revoked_ttl"
            )
        self.redis = redis
        self.revoked_ttl = revoked_ttl
        self._pull = redis.script(_PULL)
        self._cool = redis.script(_COOL)

    def _keys(self, fingerprint: str) -> tuple[str, str]:
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            # Never echo it: a caller who passed a key by mistake must not see it logged.
            raise InvalidRequestError(
                "a key fingerprint is 32 lowercase hex digits (key_fingerprint(key)); "
                "never pass the key itself",
                param="fingerprint",
            )
        return (
            self.redis.key("keys", fingerprint, "revoked"),
            self.redis.key("keys", fingerprint, "cooling"),
        )

    async def pull(self, fingerprints: Sequence[str]) -> dict[str, tuple[bool, float]] | None:
        """fingerprint -> (revoked, seconds of cool-down left), for every process; None
        while Redis is unavailable."""
        names = [name for fingerprint in fingerprints for name in self._keys(fingerprint)]
        if not names:
            return {}
        try:
            reply = await self._pull(names)
        except RedisUnavailableError:
            return None
        known: dict[str, tuple[bool, float]] = {}
        for index, fingerprint in enumerate(fingerprints):
            exists, pttl = int(reply[2 * index]), int(reply[2 * index + 1])
            known[fingerprint] = (exists > 0, max(pttl, 0) / 1000.0)
        return known

    async def revoke(self, fingerprint: str) -> None:
        """Mark the key revoked for every process (nothing happens while Redis is away)."""
        revoked, _ = self._keys(fingerprint)
        seconds = round(self.revoked_ttl)
        try:
            await self.redis.run(lambda r: r.set(revoked, "1", ex=seconds))
        except RedisUnavailableError:
            return

    async def cool(self, fingerprint: str, seconds: float) -> None:
        """Cool the key down for `seconds` in every process (nothing while Redis is away)."""
        _, cooling = self._keys(fingerprint)
        if isinstance(seconds, bool) or not seconds > 0:
            raise InvalidRequestError(
                f"a cool-down is seconds > 0, not {seconds!r}", param="seconds"
            )
        try:
            await self._cool([cooling], [max(1, round(seconds * 1000))])
        except RedisUnavailableError:
            return

    def __repr__(self) -> str:
        return f"RedisKeyCooldowns(redis={self.redis.url!r}, revoked_ttl={self.revoked_ttl!r})"
