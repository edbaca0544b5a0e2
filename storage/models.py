"""Tables. Nothing a victim said is stored in clear: free text, answers and
chat addresses are sealed blobs; user ids are keyed pseudonyms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """One intake, from the first message until it ends or is handed off."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    #: The case reference staff use; random, reveals nothing.
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: Keyed pseudonym of the channel's user id (never the id itself).
    user_ref: Mapped[str] = mapped_column(String(64))
    #: Where replies go (e.g. the Telegram chat id), sealed under the server key.
    chat_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: The engine's working state, sealed under the server key.
    state_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # intake | handoff | ended
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    #: No machine translation path for the victim's language, or it failed.
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The victim used the quick exit: do not write to them first.
    quick_exit: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Discreet mode: messages to the person are silent and open with a neutral line.
    discreet: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Once handed off, the case's place in the queue: queued | claimed | active | closed.
    case_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    caseworker_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("staff.id"), nullable=True)
    interpreter_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("staff.id"), nullable=True)
    #: The services asked for (category names only, shown in the staff group's notification).
    needs: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: The French intake summary, sealed under the server key until the caseworker who claims it has it.
    summary_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: When the staff group was last told about the case, and how many times.
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    announcements: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_conversations_user", "channel", "user_ref", "status"),
        Index("ix_conversations_case", "case_status", "queued_at"),
    )


class Staff(Base):
    """A caseworker or interpreter: who may use the staff commands, and where to reach them."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: Keyed pseudonym of the channel's user id, to recognise them.
    user_ref: Mapped[str] = mapped_column(String(64))
    #: Their private chat with the bot, sealed under the server key.
    chat_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # caseworker | interpreter
    #: Languages they work in, comma-separated codes (interpreters).
    languages: Mapped[str] = mapped_column(String(200), default="")
    #: The case their plain messages go to (`/case N` switches it).
    focus_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_staff_user", "channel", "user_ref"),)


class BlockedUser(Base):
    """A user the operators blocked (named by one of their cases): their messages are ignored."""

    __tablename__ = "blocked_users"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The case it was blocked by (the operator's handle on it; the user id is never shown).
    public_id: Mapped[str] = mapped_column(String(16))
    blocked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedUpdate(Base):
    """An inbound update already applied; a second delivery has no effect."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """Something to send or change in a chat, kept until the channel confirms it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # message | close | reselect | erase | copy
    #: Whose chat: "victim", "group" (the staff group) or "staff:<id>". Each has its own ordered queue.
    destination: Mapped[str] = mapped_column(String(32), default="victim")
    turn: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | dropped | refused
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: The channel's id of the sent message (to edit or delete it later).
    message_ref: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: Why the channel refused the message for good ("refused": set aside, kept for replay).
    failure: Mapped[str | None] = mapped_column(String(300), nullable=True)

    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_conversation", "conversation_id", "id"),
    )


class RecipientKey(Base):
    """A public key transcripts are wrapped to (a caseworker's, or the association's)."""

    __tablename__ = "recipient_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: The association's signature over this key (JSON, `bot.transcript.certificates`); None: not certified.
    certificate: Mapped[str | None] = mapped_column(Text, nullable=True)


class Transcript(Base):
    """Where a conversation's transcript stands: the server can append, not read."""

    __tablename__ = "transcripts"

    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    #: v1 only: the newest chain key, sealed under the server key; None once the case has an epoch (v2).
    chain_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    next_seq: Mapped[int] = mapped_column(Integer)
    last_digest: Mapped[bytes] = mapped_column(LargeBinary)
    #: HMAC under the server key over (case, next_seq, last_digest): a head set back in the database shows.
    head_mac: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class TranscriptKey(Base):
    """v1: the first chain key of a transcript, wrapped with HPKE to one recipient key."""

    __tablename__ = "transcript_keys"

    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class TranscriptEntry(Base):
    """One sealed entry: who spoke, when, what, its translation."""

    __tablename__ = "transcript_entries"

    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The epoch whose public key sealed it; 0 for an entry of the v1 chain.
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class TranscriptEpoch(Base):
    """One case key pair: its public half, which seals the case's entries from `epoch` on."""

    __tablename__ = "transcript_epochs"

    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: A tag over the public key under the case's shred key (which is not in the database).
    binding: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TranscriptEpochKey(Base):
    """An epoch's private key, wrapped with HPKE to one recipient key, then sealed under the shred key."""

    __tablename__ = "transcript_epoch_keys"

    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class InboundMessage(Base):
    """The channel's id of a message the victim sent (to erase it on quick exit)."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_ref: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_inbound_messages_conversation", "conversation_id", "received_at"),)


class ParkedUpdate(Base):
    """An inbound update no handler could apply, kept sealed under the server key for an operator to replay."""

    __tablename__ = "parked_updates"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    #: The operator's handle on it (`accueil parked replay REF`); random, reveals nothing.
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The case it belongs to, when there was one.
    public_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: The whole update (what the person wrote included), sealed under the server key.
    payload_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: What went wrong: the exception's type and where, never its message.
    error: Mapped[str] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ux_parked_updates_update", "channel", "update_key", unique=True),)


class WebResume(Base):
    """A web chat's resume code, as a keyed hash: who typed it comes back to their conversation."""

    __tablename__ = "web_resume"

    #: The code's keyed pseudonym (the code itself is never stored).
    code_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The web chat's user id, sealed under the server key to this code.
    user_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class StaffPasskey(Base):
    """A passkey a staff member signs in to the console with (WebAuthn): its public key only."""

    __tablename__ = "staff_passkeys"

    credential_id: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, ForeignKey("staff.id", ondelete="CASCADE"))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_staff_passkeys_staff", "staff_id"),)


class StaffInvite(Base):
    """A one-time console enrolment link (`accueil staff invite`): only the SHA-256 of its token is kept."""

    __tablename__ = "staff_invites"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(Integer, ForeignKey("staff.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
