"""Tests of the in-process fake Telegram Bot API, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from aiohttp import web

from testkit.fake_bot_api import FakeBotAPI, FakeMessage

TOKEN = "123:ABC"

pytestmark = pytest.mark.asyncio


def make_bot(api: FakeBotAPI, token: str = TOKEN, **kwargs: Any) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    return Bot(token, session=session, **kwargs)


@contextlib.asynccontextmanager
async def fake_and_bot(**bot_kwargs: Any) -> AsyncIterator[tuple[FakeBotAPI, Bot]]:
    async with FakeBotAPI(token=TOKEN) as api:
        bot = make_bot(api, **bot_kwargs)
        try:
            yield api, bot
        finally:
            await bot.session.close()


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs])


# ----------------------------------------------------------------------------- basics


async def test_get_me_through_real_bot() -> None:
    async with fake_and_bot() as (api, bot):
        assert api.base_url == f"http://127.0.0.1:{api.port}"
        me = await bot.get_me()
        assert me.id == 123
        assert me.is_bot is True
        assert me.first_name == "Accueil Test"
        assert me.username == "accueil_test_bot"
        assert [c.method for c in api.calls] == ["getMe"]
        assert api.calls[0].status == 200
        assert api.calls[0].params == {}


async def test_unknown_token_is_401_and_unknown_method_is_404() -> None:
    async with FakeBotAPI(token=TOKEN) as api:
        bad = make_bot(api, token="999:WRONG")
        try:
            with pytest.raises(TelegramUnauthorizedError) as exc:
                await bad.get_me()
            assert exc.value.message == "Unauthorized"
        finally:
            await bad.session.close()
        assert api.calls == []
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{api.base_url}/bot{TOKEN}/doSomethingWeird", json={}) as resp:
                assert resp.status == 404
                assert await resp.json() == {
                    "ok": False,
                    "error_code": 404,
                    "description": "Not Found",
                }
            async with http.post(f"{api.base_url}/botnope/getMe") as resp:
                assert resp.status == 401
                assert await resp.json() == {
                    "ok": False,
                    "error_code": 401,
                    "description": "Unauthorized",
                }
            # JSON bodies are accepted as well as aiogram's form data.
            api.add_user(5, first_name="Json")
            async with http.post(f"{api.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": 5, "text": "hé"}) as resp:
                body = await resp.json()
                assert resp.status == 200
                assert body["ok"] is True
                assert body["result"]["text"] == "hé"
                assert body["result"]["chat"] == {"id": 5, "type": "private", "first_name": "Json"}
        assert [m.text for m in api.bot_messages(5)] == ["hé"]


# ------------------------------------------------------------------ messages & updates


async def test_user_text_and_button_press_round_trip() -> None:
    async with fake_and_bot() as (api, bot):
        uid = api.user_sends_text(42, "/start", first_name="Alice", language_code="fr")
        assert uid == 1
        updates = await bot.get_updates()
        assert len(updates) == 1
        start = updates[0]
        assert isinstance(start, Update)
        assert start.update_id == 1
        assert start.message is not None
        assert start.message.message_id == 1
        assert start.message.text == "/start"
        assert start.message.chat.id == 42
        assert start.message.chat.type == "private"
        assert start.message.from_user is not None
        assert start.message.from_user.first_name == "Alice"
        assert start.message.from_user.language_code == "fr"
        assert start.message.entities is not None
        assert [(e.type, e.offset, e.length) for e in start.message.entities] == [("bot_command", 0, 6)]

        sent = await bot.send_message(42, "Choisissez", reply_markup=keyboard(("Oui", "yes"), ("Non", "no")))
        assert sent.message_id == 2
        assert sent.text == "Choisissez"
        assert sent.reply_markup is not None
        assert sent.reply_markup.inline_keyboard[1][0].callback_data == "no"

        fake = await api.wait_for_bot_message(42)
        assert fake.message_id == 2
        assert fake.from_bot is True
        assert fake.text == "Choisissez"
        assert fake.button_texts == ["Oui", "Non"]
        assert fake.callback_data_for("Oui") == "yes"
        assert [(m.message_id, m.from_bot) for m in api.chat_messages(42)] == [(1, False), (2, True)]

        press_uid = api.user_presses(42, fake.message_id, "yes")
        assert press_uid == 2
        updates = await bot.get_updates(offset=start.update_id + 1)
        assert [u.update_id for u in updates] == [2]
        query = updates[0].callback_query
        assert query is not None
        assert query.id == api.callback_query_id(press_uid)
        assert query.data == "yes"
        assert query.from_user.id == 42
        assert query.message is not None
        assert query.message.message_id == 2
        assert query.message.chat.id == 42

        assert await bot.answer_callback_query(query.id, text="Merci", show_alert=True) is True
        answer = await api.wait_for_callback_answer(press_uid, timeout=1)
        assert (answer.text, answer.show_alert, answer.user_id) == ("Merci", True, 42)
        assert api.callback_answers == [answer]
        # A callback query can only be answered once.
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.answer_callback_query(query.id)
        assert exc.value.message == (
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
        with pytest.raises(ValueError):
            api.user_presses(42, fake.message_id, "forged")


async def test_long_polling_returns_as_soon_as_an_update_arrives() -> None:
    async with fake_and_bot() as (api, bot):
        started = time.monotonic()
        task = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        assert not task.done()
        uid = api.user_sends_text(7, "bonjour")
        updates = await asyncio.wait_for(task, 2)
        elapsed = time.monotonic() - started
        assert [u.update_id for u in updates] == [uid]
        assert updates[0].message is not None
        assert updates[0].message.text == "bonjour"
        assert 0.2 <= elapsed < 2.0
        # Without updates the poll lasts `timeout` seconds and returns [].
        started = time.monotonic()
        assert await bot.get_updates(offset=uid + 1, timeout=1) == []
        assert 0.9 <= time.monotonic() - started < 2.0


async def test_offset_confirms_and_drops_updates() -> None:
    async with fake_and_bot() as (api, bot):
        ids = [api.user_sends_text(1, f"m{i}") for i in range(3)]
        assert ids == [1, 2, 3]
        assert [u.update_id for u in await bot.get_updates()] == [1, 2, 3]
        assert [u.update_id for u in await bot.get_updates(limit=2)] == [1, 2]
        assert [u.update_id for u in await bot.get_updates(offset=2)] == [2, 3]
        assert api.pending_update_ids == [2, 3]
        with pytest.raises(AssertionError):
            await api.wait_updates_consumed(timeout=0.1)
        assert await bot.get_updates(offset=4, timeout=0) == []
        assert api.pending_update_ids == []
        await api.wait_updates_consumed(timeout=1)
        assert [c.params.get("offset") for c in api.calls_of("getUpdates")] == [
            None,
            None,
            2,
            4,
        ]


async def test_concurrent_get_updates_conflict() -> None:
    async with fake_and_bot() as (_api, bot):
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(bot.get_updates(timeout=1))
        with pytest.raises(TelegramConflictError) as exc:
            await asyncio.wait_for(first, 2)
        assert exc.value.message == (
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        )
        assert await second == []


async def test_edits_markup_removal_and_not_modified() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(9, "/start")
        sent = await bot.send_message(9, "Étape 1", reply_markup=keyboard(("Suivant", "next")))
        edited = await bot.edit_message_text(
            "Étape 2",
            chat_id=9,
            message_id=sent.message_id,
            reply_markup=keyboard(("Fin", "end")),
        )
        assert not isinstance(edited, bool)
        assert edited.text == "Étape 2"
        assert edited.edit_date is not None
        fake = api.message(9, sent.message_id)
        assert fake is not None
        assert (fake.text, fake.edit_count, fake.callback_data_for("Fin")) == ("Étape 2", 1, "end")
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.edit_message_text(
                "Étape 2",
                chat_id=9,
                message_id=sent.message_id,
                reply_markup=keyboard(("Fin", "end")),
            )
        assert exc.value.message.startswith("Bad Request: message is not modified")
        # Like Telegram, editing the text without reply_markup drops the inline keyboard.
        await bot.edit_message_text("Étape 3", chat_id=9, message_id=sent.message_id)
        assert (fake.text, fake.reply_markup, fake.edit_count) == ("Étape 3", None, 2)
        await bot.edit_message_reply_markup(chat_id=9, message_id=sent.message_id, reply_markup=keyboard(("A", "a")))
        assert fake.buttons == [{"text": "A", "callback_data": "a"}]
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.edit_message_text("x", chat_id=9, message_id=999)
        assert exc.value.message == "Bad Request: message to edit not found"
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.edit_message_text("x", chat_id=9, message_id=1)
        assert exc.value.message == "Bad Request: message can't be edited"


async def test_user_edit_and_media_updates_parse_in_aiogram() -> None:
    async with fake_and_bot() as (api, bot):
        first = api.user_sends_text(3, "Jean Dupont")
        mid = api.message_for_update(first).message_id
        ids = [
            api.user_edits(3, mid, "Jean Dupond"),
            api.user_sends_photo(3, caption="recto"),
            api.user_sends_document(3, file_name="cv.pdf", content=b"%PDF-cv"),
            api.user_sends_voice(3, duration=4),
            api.user_sends_sticker(3),
            api.user_sends_location(3, 45.75, 4.85),
            api.user_sends_contact(3, "+33611223344"),
        ]
        updates = await bot.get_updates(offset=first + 1)
        assert [u.update_id for u in updates] == ids
        edited, photo, doc, voice, sticker, loc, contact = updates
        assert edited.edited_message is not None
        assert (edited.edited_message.message_id, edited.edited_message.text) == (mid, "Jean Dupond")
        assert photo.message is not None and photo.message.photo is not None
        assert photo.message.caption == "recto"
        assert len(photo.message.photo) == 3
        assert photo.message.photo[-1].width == 1280
        assert doc.message is not None and doc.message.document is not None
        assert (doc.message.document.file_name, doc.message.document.file_size) == ("cv.pdf", 7)
        assert voice.message is not None and voice.message.voice is not None
        assert voice.message.voice.duration == 4
        assert sticker.message is not None and sticker.message.sticker is not None
        assert sticker.message.sticker.emoji == "\N{THUMBS UP SIGN}"
        assert loc.message is not None and loc.message.location is not None
        assert (loc.message.location.latitude, loc.message.location.longitude) == (45.75, 4.85)
        assert contact.message is not None and contact.message.contact is not None
        assert (contact.message.contact.phone_number, contact.message.contact.user_id) == (
            "+33611223344",
            3,
        )
        # getFile + download through the fake's file endpoint.
        file = await bot.get_file(doc.message.document.file_id)
        assert file.file_path is not None and file.file_path.endswith(".pdf")
        data = await bot.download_file(file.file_path)
        assert data is not None
        assert data.read() == b"%PDF-cv"
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.get_file("nope")
        assert exc.value.message == "Bad Request: invalid file_id"


async def test_bot_uploads_and_copy_message() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(4, "hi")
        doc = await bot.send_document(
            4,
            BufferedInputFile(b"col1;col2\n", filename="export.csv"),
            caption="Export",
            protect_content=True,
        )
        assert doc.document is not None
        assert (doc.document.file_name, doc.caption, doc.has_protected_content) == (
            "export.csv",
            "Export",
            True,
        )
        call = api.calls_of("sendDocument")[0]
        [upload] = call.files.values()
        assert (upload.filename, upload.content) == ("export.csv", b"col1;col2\n")
        assert api.file_content(doc.document.file_id) == b"col1;col2\n"
        fake = await api.wait_for_bot_message(4)
        assert (fake.media_type, fake.caption, fake.protect_content) == ("document", "Export", True)
        photo = await bot.send_photo(4, doc.document.file_id)
        assert photo.photo is not None and photo.photo[0].file_id == doc.document.file_id
        voice = await bot.send_voice(4, BufferedInputFile(b"OggS", filename="v.ogg"))
        assert voice.voice is not None and voice.voice.file_size == 4
        copied = await bot.copy_message(4, from_chat_id=4, message_id=1)
        assert copied.message_id == 5
        assert [(m.message_id, m.text) for m in api.bot_messages(4)][-1] == (5, "hi")
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.copy_message(4, from_chat_id=4, message_id=77)
        assert exc.value.message == "Bad Request: message to copy not found"


async def test_groups_and_reply_keyboard_tracking() -> None:
    async with fake_and_bot() as (api, bot):
        api.add_group(-100555, "Équipe")
        api.user_sends_text(10, "salut", chat_id=-100555, first_name="Bob")
        api.user_sends_text(11, "/aide@accueil_test_bot", chat_id=-100555, first_name="Eve")
        updates = await bot.get_updates()
        assert [
            (
                u.message.chat.id,
                u.message.chat.type,
                u.message.chat.title,
                u.message.from_user.id if u.message.from_user else None,
            )
            for u in updates
            if u.message
        ] == [
            (-100555, "supergroup", "Équipe", 10),
            (-100555, "supergroup", "Équipe", 11),
        ]
        assert updates[1].message is not None and updates[1].message.entities is not None
        assert updates[1].message.entities[0].length == len("/aide@accueil_test_bot")
        reply = await bot.send_message(-100555, "Bienvenue", reply_parameters=ReplyParameters(message_id=2))
        assert reply.reply_to_message is not None and reply.reply_to_message.message_id == 2
        assert [(m.message_id, m.from_bot, m.from_user_id) for m in api.chat_messages(-100555)] == [
            (1, False, 10),
            (2, False, 11),
            (3, True, None),
        ]
        markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Partager", request_contact=True)]])
        api.user_sends_text(10, "/start")
        await bot.send_message(10, "Votre numéro ?", reply_markup=markup)
        keyboard_shown = api.reply_keyboard(10)
        assert keyboard_shown is not None
        assert keyboard_shown["keyboard"] == [[{"text": "Partager", "request_contact": True}]]
        await bot.send_message(10, "Merci", reply_markup=ReplyKeyboardRemove())
        assert api.reply_keyboard(10) is None
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.send_message(-999, "x")
        assert exc.value.message == "Bad Request: chat not found"


# ------------------------------------------------------------------------ errors


async def test_retry_after_injection() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(42, "/start")
        api.fail_next("sendMessage", retry_after=7)
        with pytest.raises(TelegramRetryAfter) as exc:
            await bot.send_message(42, "hello")
        assert exc.value.retry_after == 7
        assert exc.value.message.endswith("Original description: Too Many Requests: retry after 7")
        ok = await bot.send_message(42, "hello")
        assert ok.message_id == 2
        assert [c.status for c in api.calls_of("sendMessage")] == [429, 200]
        assert [m.text for m in api.bot_messages(42)] == ["hello"]


async def test_server_error_and_delay_injection() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(42, "/start")
        api.fail_next("sendMessage", status=502, count=2)
        for _ in range(2):
            with pytest.raises(TelegramServerError) as exc:
                await bot.send_message(42, "x")
            assert exc.value.message == "Bad Gateway"
        api.fail_next("getMe", status=500, description="Internal Server Error: restart")
        with pytest.raises(Exception) as exc2:
            await bot.get_me()
        assert type(exc2.value).__name__ == "RestartingTelegram"
        # Timeout simulation: the client gives up but the message is still sent.
        api.delay_next("sendMessage", 1.5)
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(42, "slow", request_timeout=1)
        late = await api.wait_for_bot_message(42, timeout=3)
        assert late.text == "slow"


async def test_delete_message() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(42, "/start")
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.delete_message(42, 999)
        assert exc.value.message == "Bad Request: message to delete not found"
        sent = await bot.send_message(42, "temporaire")
        assert await bot.delete_message(42, sent.message_id) is True
        fake = api.message(42, sent.message_id)
        assert fake is not None and fake.deleted is True
        assert api.bot_messages(42) == []
        with pytest.raises(TelegramBadRequest):
            await bot.delete_message(42, sent.message_id)
        a = await bot.send_message(42, "a")
        b = await bot.send_message(42, "b")
        assert await bot.delete_messages(42, [a.message_id, b.message_id, 555]) is True
        assert api.bot_messages(42) == []


async def test_blocked_user_is_forbidden() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(42, "/start")
        member_uid = api.user_blocks_bot(42)
        with pytest.raises(TelegramForbiddenError) as exc:
            await bot.send_message(42, "hello?")
        assert exc.value.message == "Forbidden: bot was blocked by the user"
        updates = await bot.get_updates()
        assert updates[-1].update_id == member_uid
        member = updates[-1].my_chat_member
        assert member is not None
        assert (member.old_chat_member.status, member.new_chat_member.status) == ("member", "kicked")
        # Writing to the bot again unblocks it.
        api.user_sends_text(42, "/start")
        assert (await bot.send_message(42, "re")).text == "re"
        api.add_user(77, started=False)
        with pytest.raises(TelegramForbiddenError) as exc:
            await bot.send_message(77, "hi")
        assert exc.value.message == "Forbidden: bot can't initiate conversation with a user"


async def test_parse_mode_validation() -> None:
    async with fake_and_bot(default=DefaultBotProperties(parse_mode="HTML")) as (api, bot):
        api.user_sends_text(42, "/start")
        msg = await bot.send_message(42, "<b>Bonjour</b> &amp; <a href='https://x.fr'>lien</a>")
        assert msg.text == "Bonjour & lien"
        assert msg.entities is not None
        assert [(e.type, e.offset, e.length, e.url) for e in msg.entities] == [
            ("bold", 0, 7, None),
            ("text_link", 10, 4, "https://x.fr"),
        ]
        fake = await api.wait_for_bot_message(42)
        assert (fake.text, fake.source_text, fake.parse_mode) == (
            "Bonjour & lien",
            "<b>Bonjour</b> &amp; <a href='https://x.fr'>lien</a>",
            "HTML",
        )
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.send_message(42, "a < b")
        assert exc.value.message == ('Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2')
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.send_message(42, "<b>gras")
        assert exc.value.message == (
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
        )
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.send_message(42, "Total: 3.5", parse_mode="MarkdownV2")
        assert exc.value.message == (
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
        )
        ok = await bot.send_message(42, "*Total:* 3\\.5", parse_mode="MarkdownV2")
        assert ok.text == "Total: 3.5"
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.send_message(42, "x" * 4097, parse_mode=None)
        assert exc.value.message == "Bad Request: message is too long"
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.send_message(42, "k", reply_markup=keyboard(("long", "d" * 65)), parse_mode=None)
        assert exc.value.message == "Bad Request: BUTTON_DATA_INVALID"


# ------------------------------------------------------------------------ waiters


async def test_waiters_cursor_and_timeout_dump() -> None:
    async with fake_and_bot() as (api, bot):
        api.user_sends_text(42, "/start")
        await bot.send_message(42, "un")
        await bot.send_message(42, "deux")
        await bot.send_message(42, "trois")
        assert (await api.wait_for_bot_message(42)).text == "un"
        got: FakeMessage = await api.wait_for_bot_message(42, lambda m: m.text == "trois")
        assert got.message_id == 4
        later = asyncio.create_task(api.wait_for_bot_message(42, timeout=2))
        await asyncio.sleep(0.05)
        assert not later.done()
        await bot.send_message(42, "quatre")
        assert (await later).text == "quatre"
        with pytest.raises(AssertionError) as exc:
            await api.wait_for_bot_message(42, timeout=0.1)
        dump = str(exc.value)
        assert "no new bot message in chat 42 within 0.1s" in dump
        assert "#5 bot : 'quatre'" in dump
        assert "#1 user 42: '/start'" in dump

        assert (await api.wait_for_call("sendmessage")).params == {"chat_id": 42, "text": "un"}
        assert (await api.wait_for_call("sendMessage")).params["text"] == "deux"
        call = await api.wait_for_call("sendMessage", lambda c: c.params["text"] == "quatre")
        assert call.result["message_id"] == 5
        with pytest.raises(AssertionError) as exc:
            await api.wait_for_call("sendMessage", timeout=0.05)
        assert "no new sendMessage call within 0.05s (4 sendMessage calls recorded" in str(exc.value)

        flag: list[bool] = []
        asyncio.get_running_loop().call_later(0.05, flag.append, True)
        await api.wait_until(lambda: bool(flag), timeout=1)
        with pytest.raises(AssertionError) as exc:
            await api.wait_until(lambda: False, timeout=0.05, message="never")
        assert str(exc.value).startswith("never within 0.05s")


async def test_commands_descriptions_and_misc_methods() -> None:
    async with fake_and_bot() as (api, bot):
        commands = [
            BotCommand(command="start", description="Commencer"),
            BotCommand(command="aide", description="Aide"),
        ]
        assert await bot.set_my_commands(commands, language_code="fr") is True
        fetched = await bot.get_my_commands(language_code="fr")
        assert [(c.command, c.description) for c in fetched] == [
            ("start", "Commencer"),
            ("aide", "Aide"),
        ]
        assert await bot.get_my_commands() == []
        assert api.my_commands(language_code="fr") == [
            {"command": "start", "description": "Commencer"},
            {"command": "aide", "description": "Aide"},
        ]
        with pytest.raises(TelegramBadRequest) as exc:
            await bot.set_my_commands([BotCommand(command="Bad Name", description="x")])
        assert exc.value.message == "Bad Request: BOT_COMMAND_INVALID"
        assert await bot.set_my_description("Le bot d'accueil") is True
        assert await bot.set_my_short_description("Accueil", language_code="fr") is True
        assert (await bot.get_my_description()).description == "Le bot d'accueil"
        assert api.my_short_description("fr") == "Accueil"
        api.user_sends_text(42, "/start")
        assert await bot.send_chat_action(42, "typing") is True
        assert await bot.close() is True
        assert await bot.log_out() is True
        assert [c.method for c in api.calls][-2:] == ["close", "logOut"]


# ------------------------------------------------------------------------ webhook


async def test_webhook_delivery_with_secret_header() -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        body = await request.json()
        if "message" in body and body["message"].get("text") == "ping":
            # Reply through the webhook response, like aiogram's handle_in_background=False.
            return web.json_response({"method": "sendMessage", "chat_id": 42, "text": "pong"})
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with fake_and_bot() as (api, bot):
            assert await bot.set_webhook(hook_url, secret_token="s3cr3t_Token") is True
            assert (api.webhook_url, api.webhook_secret) == (hook_url, "s3cr3t_Token")
            uid = api.user_sends_text(42, "/start")
            await api.wait_updates_consumed(timeout=5)
            assert len(received) == 1
            secret, body = received[0]
            assert secret == "s3cr3t_Token"
            assert body["update_id"] == uid
            assert body["message"]["text"] == "/start"
            assert api.last_webhook_status == 200

            # Explicit (re)delivery.
            assert await api.deliver_to_webhook(uid) == 200
            assert [b["update_id"] for _, b in received] == [uid, uid]

            # A method returned in the webhook response is executed.
            api.user_sends_text(42, "ping")
            pong = await api.wait_for_bot_message(42, timeout=5)
            assert pong.text == "pong"
            call = await api.wait_for_call("sendMessage")
            assert call.via == "webhook-reply"

            with pytest.raises(TelegramConflictError) as exc:
                await bot.get_updates()
            assert exc.value.message.startswith("Conflict: can't use getUpdates method while webhook is active")
            info = await bot.get_webhook_info()
            assert (info.url, info.pending_update_count) == (hook_url, 0)
            with pytest.raises(TelegramBadRequest) as exc2:
                await bot.set_webhook(hook_url, secret_token="bad token!")
            assert exc2.value.message == "Bad Request: secret token contains unallowed characters"

            assert await bot.delete_webhook() is True
            assert (await bot.get_webhook_info()).url == ""
            late = api.user_sends_text(42, "after")
            assert [u.update_id for u in await bot.get_updates()] == [late]
    finally:
        await runner.cleanup()


async def test_webhook_error_status_is_exposed() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with FakeBotAPI(token=TOKEN, webhook_retry_delay=0.01) as api:
            bot = make_bot(api)
            try:
                await bot.set_webhook(hook_url)
                uid = api.user_sends_text(1, "x")
                await api.wait_until(lambda: len(api.webhook_deliveries) == 3, timeout=5)
                assert [(d.update_id, d.status) for d in api.webhook_deliveries] == [(uid, 500)] * 3
                assert api.last_webhook_status == 500
                await api.wait_updates_consumed(timeout=1)  # dropped after max attempts
                info = await bot.get_webhook_info()
                assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
            finally:
                await bot.session.close()
    finally:
        await runner.cleanup()
