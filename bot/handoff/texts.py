"""What the bot says to the association's staff (the intake summary is built in `intake_summary.py`).

Staff read French (the association works in French); these texts are not in the victims'
catalogs, and no module of `bot.handoff` but this one, `intake_summary.py` and `operator.py`
writes French. Everything a victim wrote is shown through `bot.handoff.sanitize.for_staff`,
so it cannot disguise itself or break a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.handoff.sanitize import for_staff
from bot.language.i18n import Catalogs

#: The association's services (seeds: accommodation, health, administrative status,
#: French and work, emergency money, legal help), by the intake's answer values.
SERVICES: Mapping[str, str] = {
    "accommodation": "hébergement",
    "health": "santé",
    "papers": "situation administrative",
    "french_work": "français et emploi",
    "emergency_money": "aide financière d'urgence",
    "legal": "aide juridique",
}
MT_MARK = "[traduction automatique]"
NO_MT = "[pas de traduction automatique : interprète nécessaire]"
SKIPPED = "(préfère ne pas répondre)"
HELP = (
    "Répondez à un message relayé pour écrire à la personne, ou écrivez directement : "
    "vos messages vont au dossier en cours.\n"
    "/cases vos dossiers · /case N changer de dossier · /summary le résumé\n"
    "/invite un·e interprète · /transfer à un·e collègue · /close clore le dossier"
)


#: How the staff are told where a person writes from.
CHANNELS = {"telegram": "Telegram", "web": "chat web", "terminal": "terminal"}


def language_line(catalogs: Catalogs, language: str | None) -> str:
    if language is None or (language not in catalogs and not catalogs.has_machine(language)):
        return f"Langue : {language or 'non choisie'} (pas de catalogue)"
    catalog = catalogs.get(language)
    status = {
        "reviewed": "relu par un locuteur natif",
        "machine": "aucun : questions traduites automatiquement de l'anglais",
    }.get(catalog.review, "brouillon, non relu")
    return f"Langue : {catalog.name} ({language}) — catalogue {status}"


def waiting(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "—"
    if since.tzinfo is None:  # SQLite gives back naive UTC
        since = since.replace(tzinfo=UTC)
    minutes = max(0, int((now - since) / timedelta(minutes=1)))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def notice(
    case: str,
    *,
    urgent: bool,
    language: str,
    interpreter: bool,
    needs: Sequence[str],
    since: datetime | None,
    now: datetime,
    again: bool,
    channel: str = "telegram",
) -> str:
    """The staff group's announcement: nothing the person said, only what routes the case."""
    head = "Rappel : dossier en attente" if again else "Nouveau dossier"
    lines = [
        f"{'🔴 URGENT — ' if urgent else ''}{head} {case}",
        f"Canal : {CHANNELS.get(channel, channel)}",
        language,
        f"Interprète : {'nécessaire' if interpreter else 'non'}",
        f"Besoins : {', '.join(SERVICES.get(n, n) for n in needs) or 'non précisés'}",
        f"En attente depuis : {waiting(since, now)}",
    ]
    return "\n".join(lines)


def victim_words(text: str, translation: str | None, language: str | None, staff_language: str) -> list[str]:
    """A victim's words for staff: the translation marked as such, the original beneath."""
    return _free_text(text, translation, language, staff_language)


def _free_text(text: str, translation: str | None, language: str | None, staff_language: str) -> list[str]:
    original = for_staff(text)
    if language in (None, staff_language):
        return [f"  {original}"]
    if translation is None:
        return [f"  {NO_MT}", f"  original ({language}) : {original}"]
    return [f"  {for_staff(translation)} {MT_MARK}", f"  original ({language}) : {original}"]


# --- the case's life: the staff group, claiming, inviting, transferring, closing -------------

CLAIM_BUTTON = "Prendre le dossier"
GONE = "Ce dossier n'existe plus."
NOT_YOURS = "Ce dossier n'est pas le vôtre, ou il est clos."
LEFT_THE_TEAM = "Cette personne ne fait plus partie de l'équipe."
ONLY_CASEWORKERS_CLAIM = "Seul·e un·e travailleur·se social·e peut prendre un dossier."
ALREADY_YOURS = "Vous avez déjà ce dossier."
CLAIMED = "Le dossier est à vous : le résumé est dans votre conversation avec le bot."
NOT_AN_INTERPRETER = "Cette personne n'est pas interprète."
ANOTHER_CASEWORKER = "Choisissez un·e autre travailleur·se social·e."
ONLY_THE_CASEWORKER = "Seul·e le ou la responsable du dossier peut faire cela."


def tag(case: str) -> str:
    """How a message to staff names its case, first thing."""
    return f"[{case}]"


def taken_by(holder: str | None) -> str:
    who = holder if holder is not None else "quelqu'un d'autre"
    return f"Dossier déjà pris par {who}."


def retired(case: str, caseworker: str) -> str:
    """What the staff group's notice reads once the case is claimed (its button gone)."""
    return f"Dossier {case} — pris par {caseworker}"


def no_summary(case: str) -> str:
    return f"Dossier {case} (pas de résumé)."


def with_help(summary_text: str) -> str:
    return f"{summary_text}\n\n{HELP}"


def invited(case: str, caseworker: str, language: str) -> str:
    """To the interpreter a caseworker invites."""
    return (
        f"{caseworker} vous invite sur le dossier {case}.\n{language}\n"
        "Vous voyez les mots de la personne tels qu'elle les écrit. Ce que vous écrivez ici lui parvient "
        f"tel quel, et parvient à {caseworker} traduit en français."
    )


def joined(case: str, interpreter: str) -> str:
    return f"{interpreter} rejoint le dossier {case}."


def invited_toast(interpreter: str) -> str:
    return f"{interpreter} est invité·e."


def transferred(case: str, to: str) -> str:
    return f"Dossier {case} transmis à {to}."


def handed_to_you(case: str, by: str) -> str:
    return f"{by} vous transmet le dossier {case}."


def transferred_toast(to: str) -> str:
    return f"Transmis à {to}."


def closed(case: str, by: str) -> str:
    return f"Dossier {case} clos par {by}."


def victim_left(case: str) -> str:
    """To whoever has the case, when the person used the quick exit."""
    return (
        f"{tag(case)} ⚠ La personne a utilisé la sortie rapide : la conversation a été effacée "
        "de son téléphone. N'écrivez pas en premier ; attendez qu'elle revienne."
    )


# --- relaying ------------------------------------------------------------------------------

#: How a message the person wrote came, by transcript entry kind (a plain message says nothing).
HOW_WRITTEN: Mapping[str, str] = {
    "edit": " (message modifié)",
    "forwarded": " (message transféré d'une autre conversation)",
}
#: What the person sent, when it is passed on as a file.
MEDIA_NAMES: Mapping[str, str] = {
    "photo": "photo",
    "document": "document",
    "voice": "message vocal",
    "video": "vidéo",
    "audio": "audio",
    "video_note": "message vidéo",
}
#: What the person shared, passed on as shared: it takes no caption, a line before it names the case.
SHARED_NAMES: Mapping[str, str] = {
    "location": "position partagée",
    "contact": "contact partagé",
}
ONLY_TEXT = "Seul le texte est relayé à la personne."
SINCE_HANDOFF = "Écrit depuis la remise :"


def relayed_head(case: str, kind: str | None) -> str:
    """The first line of the person's words relayed to a caseworker."""
    return f"{tag(case)}{HOW_WRITTEN.get(kind or '', '')}"


CAPTION_FOLLOWS = "(légende dans le message suivant)"


def media_caption(case: str, kind: str) -> str:
    return f"{tag(case)} {MEDIA_NAMES.get(kind, kind)}"


def captioned(case: str, kind: str, words: Sequence[str]) -> str:
    """The caption of a copy of what the person sent: the case, what it is, and their words under it."""
    return "\n".join([media_caption(case, kind), *words])


def caption_follows(case: str, kind: str) -> str:
    """The short caption of a copy whose words are too long to go under it: they follow as a message."""
    return f"{media_caption(case, kind)} {CAPTION_FOLLOWS}"


def original_words(text: str) -> list[str]:
    """The person's words as written, as an interpreter sees them."""
    return [f"  {for_staff(text)}"]


def shared_head(case: str, kind: str) -> str:
    return f"{tag(case)} {SHARED_NAMES.get(kind, kind)} :"


def original_for_interpreter(case: str, text: str) -> str:
    """The person's own words, as an interpreter sees them."""
    return f"{tag(case)} {for_staff(text)}"


def interpreter_said(case: str, interpreter: str) -> str:
    """The head of an interpreter's message, as the caseworker sees it."""
    return f"{tag(case)} {interpreter} (interprète) :"


def caseworker_said(case: str, caseworker: str, text: str) -> str:
    """A caseworker's message, as the interpreter of the case sees it."""
    return f"{tag(case)} {caseworker} :\n{text}"


def sent_untranslated(language: str) -> str:
    return (
        f"Pas de traduction automatique vers « {language} » : votre message est parti tel quel. "
        "/invite pour faire venir un·e interprète."
    )


def written_since_handoff(summary_text: str, words: Sequence[str], at: datetime) -> str:
    """The sealed summary, with what the person wrote while the case waited added at its end."""
    if f"\n{SINCE_HANDOFF}" not in summary_text:
        summary_text += f"\n\n{SINCE_HANDOFF}"
    return summary_text + f"\n({at:%H:%M} UTC)\n" + "\n".join(words)


# --- staff commands --------------------------------------------------------------------------

NO_CASE = "Aucun dossier en cours. /cases pour la liste."
UNKNOWN_CASE = "Dossier inconnu. /cases pour la liste."
YOUR_CASES = "Vos dossiers :"
NO_CASES_OF_YOURS = "Vous n'avez aucun dossier en cours."
INVITE_WHOM = "Quel·le interprète inviter ?"
TRANSFER_TO_WHOM = "À qui transmettre le dossier ?"


def focused(case: str) -> str:
    return f"Dossier en cours : {case}. Vos messages y vont."


def nobody_to_ask(interpreters: bool) -> str:
    who = "interprète" if interpreters else "autre travailleur·se social·e"
    return f"Aucun·e {who} enregistré·e (accueil staff add)."


def candidate(name: str, languages: str) -> str:
    """A colleague on an invite or transfer button."""
    return f"{name} ({languages})" if languages else name


def case_line(case: str, *, urgent: bool, language: str | None, status: str | None, current: bool) -> str:
    """One of the staff member's own cases in /cases."""
    return f"• {case}{' 🔴' if urgent else ''} — {language or '?'} — {status}{' (en cours)' if current else ''}"


def queued_line(case: str, *, urgent: bool, language: str | None, since: datetime | None, now: datetime) -> str:
    """A case waiting in the queue, in /cases."""
    return f"• {case}{' 🔴' if urgent else ''} — {language or '?'} — {waiting(since, now)}"


def in_the_queue(count: int) -> str:
    return f"En attente dans la file : {count}"


def go_to_button(case: str) -> str:
    return f"Aller au dossier {case}"


def claim_button(case: str) -> str:
    return f"Prendre {case}"


# --- once the summary was handed over ------------------------------------------------------------


def summary_in_transcript(case: str) -> str:
    """What replaces the summary once it has been handed over: the server keeps no readable copy."""
    return (
        f"Résumé de l'entretien — dossier {case} : il a déjà été remis, et le serveur n'en garde aucune "
        "copie lisible. Il est dans la transcription du dossier, lisible avec une clé de lecture : "
        f"accueil transcript show {case} --key FICHIER"
    )
