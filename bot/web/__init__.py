"""The web side: one aiohttp server, in the bot's own process and event loop, for the console
(`/console/`, `bot.console`) and the victims' web chat (`/chat/`, `bot.channels.web`)."""
