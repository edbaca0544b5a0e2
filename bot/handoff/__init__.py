"""Handoff: a conversation becomes a case a caseworker takes; see `bot.handoff.service`."""

from bot.handoff.buttons import StaffPress
from bot.handoff.commands import StaffOutcome
from bot.handoff.hours import OfficeHours, parse_office_hours
from bot.handoff.notify import OutboxNotifier, StaffNotifier
from bot.handoff.service import Handoff

__all__ = [
    "Handoff",
    "OfficeHours",
    "OutboxNotifier",
    "StaffNotifier",
    "StaffOutcome",
    "StaffPress",
    "parse_office_hours",
]
