"""Simulated people: they write, send media, edit, press buttons, block and unblock the bot."""

from __future__ import annotations

import secrets

from testkit.fake_bot_api.internals import (
    _CallbackQuery,
    _ChatState,
    _now,
)
from testkit.fake_bot_api.markup import (
    _command_entities,
)
from testkit.fake_bot_api.queries import _Queries
from testkit.fake_bot_api.records import (
    FakeMessage,
    JSONDict,
)


class _Users(_Queries):
    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        *,
        first_name: str | None,
        language_code: str | None,
        reply_to: int | None = None,
        username: str | None = None,
    ) -> tuple[_ChatState, FakeMessage]:
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self._ensure_user(user_id, first_name, language_code, username)
        cid = user_id if chat_id is None else chat_id
        if cid > 0 and cid != user_id:
            raise ValueError(f"user {user_id} cannot write in the private chat of {cid}")
        if cid == user_id and user.blocked:
            # Writing to the bot again means the user restarted (unblocked) it.
            self.user_unblocks_bot(user_id)
        chat = self._chat_state(cid)
        chat.known = True
        if reply_to is not None and reply_to not in chat.by_id:
            raise ValueError(f"reply_to={reply_to}: no such message in chat {cid}")
        msg = self._new_message(chat, from_bot=False, user_id=user_id)
        msg.reply_to_message_id = reply_to
        return chat, msg

    def _push_user_message(self, chat: _ChatState, msg: FakeMessage) -> int:
        self._add_message(chat, msg)
        uid = self.push_update({"message": self.message_json(msg)})
        msg.update_id = uid
        self._update_messages[uid] = msg
        return uid

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
        reply_to: int | None = None,
        username: str | None = None,
        forwarded_from: str | None = None,
    ) -> int:
        """Simulate a text message; returns the update_id.

        ``forwarded_from`` makes it a message forwarded from a user of that (hidden) name.

        ``first_name`` defaults to ``"Test"`` for new users (kept for known ones).
        ``/commands`` get ``bot_command`` entities.  ``chat_id`` defaults to the
        private chat (== ``user_id``); negative ids are groups.
        """
        chat, msg = self._user_message(
            user_id,
            chat_id,
            first_name=first_name,
            language_code=language_code,
            reply_to=reply_to,
            username=username,
        )
        msg.text = text
        msg.source_text = text
        msg.entities = _command_entities(text)
        if forwarded_from is not None:
            msg.forward_origin = {"type": "hidden_user", "sender_user_name": forwarded_from, "date": msg.date}
        return self._push_user_message(chat, msg)

    def _photo_sizes(self, content: bytes, width: int, height: int) -> list[JSONDict]:
        sizes: list[JSONDict] = []
        for target in (90, 320, max(width, height)):
            scale = min(1.0, target / max(width, height, 1))
            rec = self._new_file("photos", "jpg", content, "AgACAgIAAxkBAAI")
            sizes.append(
                {
                    "file_id": rec.file_id,
                    "file_unique_id": rec.file_unique_id,
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                    "file_size": len(content),
                }
            )
        return sizes

    def user_sends_photo(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        caption: str | None = None,
        content: bytes | None = None,
        width: int = 1280,
        height: int = 720,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = content if content is not None else b"\xff\xd8\xff\xe0fake-jpeg" + secrets.token_bytes(16)
        sizes = self._photo_sizes(data, width, height)
        msg.media_type = "photo"
        msg.media = {"photo": sizes}
        msg.file_id = str(sizes[-1]["file_id"])
        msg.caption = caption
        return self._push_user_message(chat, msg)

    def user_sends_document(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        content: bytes | None = None,
        caption: str | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = content if content is not None else b"%PDF-1.4 fake " + secrets.token_bytes(16)
        ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        rec = self._new_file("documents", ext, data, "BQACAgIAAxkBAAI")
        msg.media_type = "document"
        msg.media = {
            "document": {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "file_name": file_name,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        msg.file_id = rec.file_id
        msg.caption = caption
        return self._push_user_message(chat, msg)

    def user_sends_voice(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        duration: int = 3,
        mime_type: str = "audio/ogg",
        content: bytes | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = content if content is not None else b"OggS fake-voice " + secrets.token_bytes(16)
        rec = self._new_file("voice", "oga", data, "AwACAgIAAxkBAAI")
        msg.media_type = "voice"
        msg.media = {
            "voice": {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "duration": duration,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        msg.file_id = rec.file_id
        return self._push_user_message(chat, msg)

    def user_sends_sticker(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        emoji: str = "\N{THUMBS UP SIGN}",
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        data = b"RIFF fake-webp " + secrets.token_bytes(16)
        rec = self._new_file("stickers", "webp", data, "CAACAgIAAxkBAAI")
        msg.media_type = "sticker"
        msg.media = {
            "sticker": {
                "file_id": rec.file_id,
                "file_unique_id": rec.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "file_size": len(data),
            }
        }
        msg.file_id = rec.file_id
        return self._push_user_message(chat, msg)

    def user_sends_location(
        self,
        user_id: int,
        latitude: float = 48.8566,
        longitude: float = 2.3522,
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        language_code: str | None = None,
    ) -> int:
        chat, msg = self._user_message(user_id, chat_id, first_name=first_name, language_code=language_code)
        msg.media_type = "location"
        msg.media = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._push_user_message(chat, msg)

    def user_sends_contact(
        self,
        user_id: int,
        phone_number: str = "+33612345678",
        *,
        chat_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        language_code: str | None = None,
    ) -> int:
        """Share a contact; by default the user's own (``contact_user_id`` == ``user_id``)."""
        chat, msg = self._user_message(user_id, chat_id, first_name=None, language_code=language_code)
        user = self.users[user_id]
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or user.first_name,
            "user_id": user_id if contact_user_id is None else contact_user_id,
        }
        if last_name is not None:
            contact["last_name"] = last_name
        msg.media_type = "contact"
        msg.media = {"contact": contact}
        return self._push_user_message(chat, msg)

    def user_edits(self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None) -> int:
        """The user edits one of their text messages; pushes an ``edited_message`` update."""
        cid = user_id if chat_id is None else chat_id
        chat = self._chats.get(cid)
        msg = chat.by_id.get(message_id) if chat is not None else None
        if chat is None or msg is None or msg.deleted or msg.from_user_id != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in chat {cid}")
        if msg.text is None:
            raise ValueError(f"message {message_id} is not a text message")
        msg.text = new_text
        msg.source_text = new_text
        msg.entities = _command_entities(new_text)
        msg.edit_date = _now()
        msg.edit_count += 1
        chat.signal.notify()
        uid = self.push_update({"edited_message": self.message_json(msg)})
        self._update_messages[uid] = msg
        return uid

    def user_presses(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        require_button: bool = True,
    ) -> int:
        """The user presses an inline button of a bot message; pushes a ``callback_query``.

        With ``require_button`` (default) the message must be a visible bot message
        whose *current* inline keyboard has a button with this ``callback_data``.
        Otherwise any data is sent (and an unknown message is sent as inaccessible).
        """
        cid = user_id if chat_id is None else chat_id
        chat = self._chats.get(cid)
        msg = chat.by_id.get(message_id) if chat is not None else None
        if msg is None or msg.deleted or not msg.from_bot:
            if require_button:
                raise ValueError(f"no visible bot message {message_id} in chat {cid}\n{self.dump_chat(cid)}")
            message_json: JSONDict = {"message_id": message_id, "date": 0, "chat": self._chat_json(cid)}
        else:
            if require_button and data not in {b.get("callback_data") for row in msg.inline_keyboard for b in row}:
                raise ValueError(
                    f"message {message_id} in chat {cid} has no button with callback_data "
                    f"{data!r}; buttons: {[b.get('callback_data') for b in msg.buttons]!r}"
                )
            message_json = self.message_json(msg)
        user = self._ensure_user(user_id, None, None)
        query_id = str(4_000_000_000_000_000 + next(self._callback_counter))
        self._callback_queries[query_id] = _CallbackQuery(query_id, user_id, cid, message_id)
        uid = self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_json(),
                    "chat_instance": str(-(abs(cid) * 31 + 7)),
                    "message": message_json,
                    "data": data,
                }
            }
        )
        self._callback_queries[query_id].update_id = uid
        self._callback_by_update[uid] = query_id
        return uid

    def user_blocks_bot(self, user_id: int, *, emit_update: bool = True) -> int | None:
        """Afterwards every call targeting the private chat answers 403. Returns the
        update_id of the ``my_chat_member`` update (None with ``emit_update=False``)."""
        user = self._ensure_user(user_id, None, None)
        user.blocked = True
        self._changed.notify()
        if not emit_update:
            return None
        return self._push_member_update(user_id, "member", "kicked")

    def user_unblocks_bot(self, user_id: int, *, emit_update: bool = True) -> int | None:
        user = self._ensure_user(user_id, None, None)
        if not user.blocked:
            return None
        user.blocked = False
        self._changed.notify()
        if not emit_update:
            return None
        return self._push_member_update(user_id, "kicked", "member")

    def _push_member_update(self, user_id: int, old: str, new: str) -> int:
        def member(status: str) -> JSONDict:
            out: JSONDict = {"status": status, "user": self.bot_user}
            if status == "kicked":
                out["until_date"] = 0
            return out

        return self.push_update(
            {
                "my_chat_member": {
                    "chat": self._chat_json(user_id),
                    "from": self._user_json(user_id),
                    "date": _now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )
