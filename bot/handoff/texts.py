"""What the bot says to the association's staff, and the intake summary.

Staff read French (the association works in French); these texts are not in
the victims' catalogs. Everything a victim wrote is shown through
`bot.handoff.sanitize.for_staff`, so it cannot disguise itself or break a line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.engine import Dialog
from bot.engine.effects import Msg
from bot.engine.model import StepKind
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
REASONS: Mapping[str, str] = {
    "intake_complete": "fin de l'entretien",
    "asked_for_person": "la personne a demandé à parler à quelqu'un",
    "no_consent_person": "sans consentement à l'enregistrement des réponses, la personne veut parler à quelqu'un",
}
#: Field titles, by the intake's `save` keys; other keys show as they are.
FIELDS: Mapping[str, str] = {
    "in_danger": "Danger immédiat",
    "consent": "Consentement",
    "writer": "Qui écrit",
    "what_happened": "Ce qui s'est passé",
    "needs": "Besoins",
    "documents": "Documents d'identité",
    "location": "Lieu",
    "contact": "Contact sûr",
    "contact_time": "Quand contacter",
    "interpreter": "Interprète demandé",
    "interpreter_language": "Langue de l'interprète",
    "story": "Récit",
    "no_consent_choice": "Sans consentement",
}
#: Shown first, in this order; the rest follow in the dialog's order.
FIRST = ("in_danger", "consent")
MT_MARK = "[traduction automatique]"
NO_MT = "[pas de traduction automatique : interprète nécessaire]"
SKIPPED = "(préfère ne pas répondre)"
HELP = (
    "Répondez à un message relayé pour écrire à la personne, ou écrivez directement : "
    "vos messages vont au dossier en cours.\n"
    "/cases vos dossiers · /case N changer de dossier · /summary le résumé\n"
    "/invite un·e interprète · /transfer à un·e collègue · /close clore le dossier"
)


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
) -> str:
    """The staff group's announcement: nothing the person said, only what routes the case."""
    head = "Rappel : dossier en attente" if again else "Nouveau dossier"
    lines = [
        f"{'🔴 URGENT — ' if urgent else ''}{head} {case}",
        language,
        f"Interprète : {'nécessaire' if interpreter else 'non'}",
        f"Besoins : {', '.join(SERVICES.get(n, n) for n in needs) or 'non précisés'}",
        f"En attente depuis : {waiting(since, now)}",
    ]
    return "\n".join(lines)


def summary(
    dialog: Dialog,
    catalogs: Catalogs,
    staff_language: str,
    *,
    case: str,
    language: str | None,
    urgent: bool,
    interpreter: bool,
    quick_exit: bool,
    reason: str,
    answers: Mapping[str, object],
    translations: Mapping[str, str],
    at: datetime,
) -> str:
    """The intake summary in the staff language: urgency first, the victim's words beneath their translation."""
    lines = [f"Résumé de l'entretien — dossier {case}"]
    if urgent:
        lines.append("🔴 URGENT : la personne a dit être en danger immédiat (numéros d'urgence donnés).")
    if quick_exit:
        lines.append("⚠ La personne a utilisé la sortie rapide : n'écrivez pas en premier.")
    lines.append(language_line(catalogs, language))
    lines.append(f"Interprète : {'nécessaire' if interpreter else 'non demandé'}")
    lines.append(f"Remis à une personne : {REASONS.get(reason, reason)}, le {at:%d/%m/%Y à %H:%M} UTC")
    saved = _saved_steps(dialog)
    order = [k for k in FIRST if k in answers] + [k for k in saved if k in answers and k not in FIRST]
    order += [k for k in answers if k not in order and k != "language"]
    for key in order:
        if key == "language":
            continue
        value = answers[key]
        title = FIELDS.get(key, key)
        kind, labels = saved.get(key, (None, {}))
        if value is None:
            lines.append(f"{title} : {SKIPPED}")
        elif key == "needs" and isinstance(value, tuple):
            lines.append(f"{title} : {', '.join(SERVICES.get(v, v) for v in value) or SKIPPED}")
        elif isinstance(value, tuple):
            shown = [_label(catalogs, staff_language, labels, v) for v in value]
            lines.append(f"{title} : {', '.join(shown) or SKIPPED}")
        elif kind == StepKind.FREE_TEXT:
            lines.append(f"{title} :")
            lines.extend(_free_text(str(value), translations.get(key), language, staff_language))
        else:
            lines.append(f"{title} : {_label(catalogs, staff_language, labels, str(value))}")
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


def _saved_steps(dialog: Dialog) -> dict[str, tuple[StepKind, dict[str, str]]]:
    saved: dict[str, tuple[StepKind, dict[str, str]]] = {}
    for step in dialog.steps.values():
        if step.save and step.save not in saved:
            saved[step.save] = (step.kind, {o.value: o.label for o in step.options})
    return saved


def _label(catalogs: Catalogs, language: str, labels: Mapping[str, str], value: str) -> str:
    if value in ("yes", "no") and value not in labels:
        return "oui" if value == "yes" else "non"
    key = labels.get(value)
    return catalogs.render(language, Msg(key)) if key else value
