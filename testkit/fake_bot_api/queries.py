"""What the bot did, as tests inspect it: messages per chat, recorded calls, commands, descriptions."""

from __future__ import annotations

import json

from testkit.fake_bot_api.records import (
    CallbackAnswer,
    FakeMessage,
    JSONDict,
    RecordedCall,
)
from testkit.fake_bot_api.state import _State


class _Queries(_State):
    def chat_messages(self, chat_id: int) -> list[FakeMessage]:
        """All messages of the chat (user and bot, deleted ones included), in order."""
        chat = self._chats.get(chat_id)
        return list(chat.messages) if chat is not None else []

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        """Visible (non-deleted) messages sent by the bot in the chat, in order."""
        chat = self._chats.get(chat_id)
        return [m for m in chat.bot_sent if not m.deleted] if chat is not None else []

    def last_bot_message(self, chat_id: int) -> FakeMessage | None:
        chat = self._chats.get(chat_id)
        if chat is None:
            return None
        for msg in reversed(chat.bot_sent):
            if not msg.deleted:
                return msg
        return None

    def message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        chat = self._chats.get(chat_id)
        return chat.by_id.get(message_id) if chat is not None else None

    def existing_message(self, chat_id: int, message_id: int) -> FakeMessage:
        """The message `message_id` of `chat_id`; AssertionError when there is none."""
        found = self.message(chat_id, message_id)
        if found is None:
            raise AssertionError(f"no message {message_id} in chat {chat_id}")
        return found

    def reply_keyboard(self, chat_id: int) -> JSONDict | None:
        """The reply keyboard currently shown in the chat (None if removed / never sent)."""
        chat = self._chats.get(chat_id)
        return chat.reply_keyboard if chat is not None else None

    def calls_of(self, method: str) -> list[RecordedCall]:
        return list(self._calls_by_method.get(method.lower(), []))

    def file_content(self, file_id: str) -> bytes:
        return self._files[file_id].content

    def my_commands(self, scope: JSONDict | None = None, language_code: str | None = None) -> list[JSONDict]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def my_description(self, language_code: str | None = None) -> str | None:
        return self._descriptions.get(language_code or "")

    def my_short_description(self, language_code: str | None = None) -> str | None:
        return self._short_descriptions.get(language_code or "")

    def dump_calls(self, last: int = 20) -> str:
        lines = [f"last {min(last, len(self.calls))} of {len(self.calls)} API calls:"]
        for call in self.calls[-last:]:
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            lines.append(f"  {call.method} [{call.status}] {params[:300]}")
        return "\n".join(lines)

    def mark_seen(self, chat_id: int) -> None:
        """Move the chat's waiter cursor past every bot message sent so far."""
        chat = self._chat_state(chat_id)
        chat.cursor = len(chat.bot_sent)

    def dump_chat(self, chat_id: int) -> str:
        chat = self._chats.get(chat_id)
        if chat is None:
            return f"chat {chat_id}: no such chat (known chats: {sorted(self._chats)[:20]})"
        lines = [f"chat {chat_id} ({chat.type}), {len(chat.messages)} messages:"]
        for m in chat.messages:
            who = "bot " if m.from_bot else f"user {m.from_user_id}"
            flags = []
            if m.deleted:
                flags.append("DELETED")
            if m.edit_count:
                flags.append(f"edited x{m.edit_count}")
            if m.media_type:
                flags.append(m.media_type)
            body = m.content
            shown = repr(body if body is None or len(body) <= 300 else body[:300] + "...")
            line = f"  #{m.message_id} {who}: {shown}"
            if flags:
                line += f" [{', '.join(flags)}]"
            if m.reply_markup is not None:
                line += f" markup={json.dumps(m.reply_markup, ensure_ascii=False)[:300]}"
            lines.append(line)
        return "\n".join(lines)

    def callback_query_id(self, update_id: int) -> str:
        """The callback query id created by the ``user_presses`` call that returned ``update_id``."""
        return self._callback_by_update[update_id]

    def callback_answer(self, update_id: int) -> CallbackAnswer | None:
        """The bot's answer to the callback query of ``update_id`` (None if not answered yet)."""
        qid = self._callback_by_update.get(update_id)
        for answer in reversed(self.callback_answers):
            if answer.callback_query_id == qid:
                return answer
        return None
