"""State shared through Redis: the connection (timeouts, outages, Lua scripts) and what is built
on it. coredis (the `redis` extra) is imported on first use, never by `import openai_ergo`."""
