"""The intake summary a caseworker reads when they take a case: in French, urgency first.

Every answer is shown with its title, mapped to the association's services where it names
them; free text is shown as the person wrote it, beneath its machine translation (marked).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.engine import Dialog, Msg, StepKind
from bot.handoff.texts import SERVICES, SKIPPED, language_line, victim_words
from bot.language.i18n import Catalogs

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
            lines.extend(victim_words(str(value), translations.get(key), language, staff_language))
        else:
            lines.append(f"{title} : {_label(catalogs, staff_language, labels, str(value))}")
    return "\n".join(lines)


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
