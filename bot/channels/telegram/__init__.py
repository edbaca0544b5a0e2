"""The Telegram channel (aiogram 3): thin handlers, a sender, polling and webhook runners."""
