"""The `accueil` command line: every command and option, and nothing else."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

#: What `add_subparsers` returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accueil", description="Accueil: a secure, multilingual intake assistant.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run_commands(sub)
    _shell_commands(sub)
    _dialogs_commands(sub)
    _db_commands(sub)
    _keys_commands(sub)
    _cases_commands(sub)
    _transcript_commands(sub)
    _languages_commands(sub)
    _staff_commands(sub)
    _block_commands(sub)
    _purge_commands(sub)
    return parser


def _run_commands(sub: Subparsers) -> None:
    run = sub.add_parser("run", help="run the Telegram bot (the terminal intake when no token is set)")
    run.add_argument("--api-base", help="Bot API server URL (ACCUEIL_TELEGRAM_API_BASE)")
    run.add_argument("--webhook-url", help="serve a webhook at this public URL instead of polling")
    run.add_argument("--allow-development-key", action="store_true", help="start even with the DEVELOPMENT ONLY key")


def _shell_commands(sub: Subparsers) -> None:
    shell = sub.add_parser("shell", help="run the intake in this terminal")
    shell.add_argument("--lang", help="start in this language (a catalog code such as fr or en)")


def _dialogs_commands(sub: Subparsers) -> None:
    dialogs = sub.add_parser("dialogs", help="work with dialog files")
    dialogs_sub = dialogs.add_subparsers(dest="action", required=True, metavar="ACTION")
    dialogs_sub.add_parser("check", help="validate every dialog against every catalog")


def _db_commands(sub: Subparsers) -> None:
    database = sub.add_parser("db", help="database maintenance")
    db_sub = database.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply pending migrations")


def _keys_commands(sub: Subparsers) -> None:
    keys = sub.add_parser("keys", help="recipient keys and the association key that certifies them")
    keys_sub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = keys_sub.add_parser("init", help="create a key pair and register its public half")
    init.add_argument("--out", required=True, type=Path, help="where to write the private key (kept off the server)")
    init.add_argument("--label", default="association", help="whose key this is, e.g. a caseworker's name")
    init.add_argument(
        "--association", action="store_true", help="make the association key that certifies recipient keys instead"
    )
    add = keys_sub.add_parser("add", help="register a public key file (FILE.pub) made elsewhere")
    add.add_argument("public_file", type=Path)
    add.add_argument("--label")
    certify = keys_sub.add_parser("certify", help="certify FILE.pub with the association key (kept offline)")
    certify.add_argument("public_file", type=Path)
    for command in (init, add, certify):
        command.add_argument(
            "--association-key",
            type=Path,
            required=command is certify,
            metavar="ASSOCIATION.key",
            help="the association's private key file: certify the key with it",
        )
    keys_sub.add_parser("list", help="registered keys")
    revoke = keys_sub.add_parser("revoke", help="revoke a key: it reads no transcript any more")
    revoke.add_argument("key_id")
    rewrap = keys_sub.add_parser("rewrap", help="give keys added later access to past transcripts")
    rewrap.add_argument("--key", required=True, type=Path, help="a current private key file")


def _cases_commands(sub: Subparsers) -> None:
    cases = sub.add_parser("cases", help="cases")
    cases_sub = cases.add_subparsers(dest="action", required=True, metavar="ACTION")
    cases_sub.add_parser("list", help="every case: id, started, language, status, urgency (no content)")
    reassign = cases_sub.add_parser("reassign", help="give an open case to another caseworker")
    reassign.add_argument("case")
    reassign.add_argument("--to", required=True, type=int, metavar="STAFF_ID", help="a caseworker's staff id")
    close = cases_sub.add_parser("close", help="close an open case, as /close does")
    close.add_argument("case")


def _transcript_commands(sub: Subparsers) -> None:
    transcript = sub.add_parser("transcript", help="read a transcript with a private key")
    transcript_sub = transcript.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = transcript_sub.add_parser("show", help="print a transcript")
    export = transcript_sub.add_parser("export", help="export a transcript")
    for command in (show, export):
        command.add_argument("case")
        command.add_argument("--key", required=True, type=Path, help="your private key file")
    export.add_argument("--format", choices=("json", "md"), default="md")


def _languages_commands(sub: Subparsers) -> None:
    sub.add_parser("languages", help="what the bot can do in each language: catalog, translation, interpreters")
    models = sub.add_parser("models", help="offline translation models (Argos packages)")
    models_sub = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    install = models_sub.add_parser("install", help="install .argosmodel files")
    install.add_argument("files", nargs="+", type=Path)
    models_sub.add_parser("list", help="installed models: pairs, sizes, versions")
    remove = models_sub.add_parser("remove", help="remove the model of a pair, e.g. ar-en")
    remove.add_argument("pair")
    download = models_sub.add_parser("download", help="fetch models to and from English from the Argos index")
    download.add_argument("codes", nargs="+", metavar="LANG")


def _staff_commands(sub: Subparsers) -> None:
    staff = sub.add_parser("staff", help="caseworkers and interpreters: who may take cases")
    staff_sub = staff.add_subparsers(dest="action", required=True)
    staff_add = staff_sub.add_parser("add", help="register (or update) a caseworker or an interpreter")
    staff_add.add_argument("--telegram-id", type=int, required=True, help="their numeric Telegram user id")
    staff_add.add_argument("--name", required=True, help="the name colleagues know them by")
    staff_add.add_argument("--role", required=True, choices=("caseworker", "interpreter"))
    staff_add.add_argument("--languages", help="languages they work in, e.g. ar,ti")
    staff_sub.add_parser("list", help="registered staff")
    staff_remove = staff_sub.add_parser("remove", help="remove a staff member (by the id `staff list` shows)")
    staff_remove.add_argument("staff_id", type=int)
    staff_invite = staff_sub.add_parser(
        "invite", help="a one-time link (24 hours) to enrol a passkey for the console; also sent to their chat"
    )
    staff_invite.add_argument("staff_id", type=int)


def _block_commands(sub: Subparsers) -> None:
    block = sub.add_parser("block", help="ignore whoever wrote in a case: their messages are not stored")
    block.add_argument("case")
    unblock = sub.add_parser("unblock", help="answer again whoever wrote in a case")
    unblock.add_argument("case")
    parked = sub.add_parser("parked", help="updates no handler could apply, kept sealed for replay")
    parked_sub = parked.add_subparsers(dest="action", required=True, metavar="ACTION")
    parked_sub.add_parser("list", help="parked updates: when, which case, what went wrong (no content)")
    replay = parked_sub.add_parser("replay", help="apply parked updates again (all, or those named)")
    replay.add_argument("refs", nargs="*", metavar="REF")
    outbox = sub.add_parser("outbox", help="messages the Bot API refused for good, set aside for replay")
    outbox_sub = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    outbox_sub.add_parser("list", help="messages set aside: case, kind, to whom, why (no content)")
    resend = outbox_sub.add_parser("replay", help="put messages set aside back in their queues (all, or those named)")
    resend.add_argument("ids", nargs="*", type=int, metavar="ID")


def _purge_commands(sub: Subparsers) -> None:
    purge = sub.add_parser("purge", help="destroy cases for good (their keys, then their entries)")
    which = purge.add_mutually_exclusive_group(required=True)
    which.add_argument("--case")
    which.add_argument("--older-than", type=int, metavar="DAYS")
