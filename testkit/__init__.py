"""The test kit: what tests and benchmarks share to drive Accueil against real things.

- `fake_bot_api`: a fake Telegram Bot API server over real HTTP on loopback;
- `fakes`: one fake per port (sender, translator, clocks), each failing loudly on unexpected use;
- `telegram`, `guarded`: the real aiogram bot running against the fake server, and simulated people;
- `staffed`: that bot with a staff group and a team (two caseworkers, an interpreter);
- `service`: the conversation service driven directly, without a channel;
- `accueil`: the `accueil` command run as its own process;
- `databases`: scratch PostgreSQL databases and the association's recipient key;
- `tiny_argos`: small but real Argos Translate packages, built offline.
"""
