"""The terminal channel: the same intake, through the same service, in a shell.

Buttons are shown numbered; typing the number presses the button. Useful to
try the intake and to author dialogs.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable
from typing import TextIO

from bot.channels.base import Inbound, OutItem, parse_button, parse_command
from bot.conversation.receiver import Receiver
from bot.engine import Event, Msg, TextIn
from bot.language.i18n import Catalogs

CHANNEL = "terminal"


class TerminalSender:
    """Prints messages; remembers the last keyboard so a number can press it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.buttons: list[str] = []
        self._count = 0

    async def deliver(self, chat: str, item: OutItem) -> str | None:
        if item.kind == "erase":
            self.out.write("\033[2J\033[3J\033[H")  # clear the screen and its scrollback
            self.out.flush()
            self.buttons = []
            return None
        if item.kind == "close":
            if item.echo:
                self.out.write(f"  → {item.echo}\n")
            self.buttons = []
            return None
        if item.kind == "message":
            self.out.write("\n" + item.text + "\n")
        self._show(item.buttons)
        self.out.flush()
        self._count += 1
        return str(self._count)

    def _show(self, rows: list[list[list[str]]]) -> None:
        if not rows:
            return
        self.buttons = []
        for row in rows:
            cells = []
            for label, data in row:
                self.buttons.append(data)
                cells.append(f"[{len(self.buttons)}] {label}")
            self.out.write("   " + "   ".join(cells) + "\n")


async def run_shell(
    receiver: Receiver,
    sender: TerminalSender,
    catalogs: Catalogs,
    language: str | None,
    *,
    read_line: Callable[[], str] | None = None,
) -> None:
    read = read_line or (lambda: input("> "))
    user = getpass.getuser()
    sender.out.write(catalogs.render(language, Msg("common.shell_intro")) + "\n")
    first = await receiver.receive(
        Inbound(
            channel=CHANNEL, user=user, chat=user, event=parse_command("/start") or TextIn(""), language_hint=language
        )
    )
    if first.toast:
        sender.out.write(f"({first.toast})\n")
    while True:
        try:
            line = await asyncio.to_thread(read)
        except (EOFError, KeyboardInterrupt):
            sender.out.write("\n")
            return
        line = line.strip()
        if line in ("/quit", "/q"):
            return
        event: Event | None
        if line.isdigit() and 0 < int(line) <= len(sender.buttons):
            event = parse_button(sender.buttons[int(line) - 1])
        else:
            event = parse_command(line) or TextIn(line)
        if event is None:
            continue
        outcome = await receiver.receive(Inbound(channel=CHANNEL, user=user, chat=user, event=event))
        if outcome.toast:
            sender.out.write(f"({outcome.toast})\n")
            sender.out.flush()
