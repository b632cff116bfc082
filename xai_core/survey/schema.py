"""Survey tables (SQLAlchemy 2 declarative). Unique constraints make every write idempotent: a rerun, a
double click or two racing requests can never record a vote, a view or a participant twice.

One survey has stimuli (the rendered PNGs, stored so a survey stays reproducible after models change),
respondents (pseudonymous; a Prolific id when given), question views (when each question was first
shown) and responses (one per respondent and stimulus).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 1
SURVEY_STATUSES = ("draft", "open", "closed")
STIMULUS_KINDS = ("question", "attention_noise", "attention_identical")
CHOICES = ("left", "right", "equal")
ANSWERS = ("a", "b", "equal")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class SchemaInfo(Base):
    """One row: the schema version this database was created or last migrated to."""

    __tablename__ = "schema_info"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Survey(Base):
    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    methods: Mapped[list] = mapped_column(JSON)
    model_id: Mapped[str] = mapped_column(String(100), default="")
    dataset: Mapped[str] = mapped_column(String(200), default="")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    completion_code: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # design settings, model sha256, library versions
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Stimulus(Base):
    """One question: an image and two rendered maps (method a and method b), fixed when the survey is built."""

    __tablename__ = "stimuli"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1-based, in design order
    kind: Mapped[str] = mapped_column(String(32))
    method_a: Mapped[str] = mapped_column(String(100))
    method_b: Mapped[str] = mapped_column(String(100))
    image_png: Mapped[bytes] = mapped_column(LargeBinary)
    map_a_png: Mapped[bytes] = mapped_column(LargeBinary)
    map_b_png: Mapped[bytes] = mapped_column(LargeBinary)
    expected_answer: Mapped[str | None] = mapped_column(String(8), nullable=True)  # attention checks only
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # image source, label, prediction, sha256
    metrics: Mapped[list] = mapped_column(JSON, default=list)  # [{method, metric, value, higher_is_better}]


class Respondent(Base):
    __tablename__ = "respondents"
    __table_args__ = (UniqueConstraint("survey_id", "participant_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the pseudonymous id in the respondent's URL
    participant_key: Mapped[str] = mapped_column(String(200))  # "prolific:<PID>", else "token:<token>"
    prolific_pid: Mapped[str | None] = mapped_column(String(100), nullable=True)
    study_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    question_order: Mapped[list] = mapped_column(JSON)  # stimulus positions in the order this respondent sees them
    left_is_a: Mapped[list] = mapped_column(JSON)  # per entry of question_order: is method a on the left?
    app_version: Mapped[str] = mapped_column(String(50))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class QuestionView(Base):
    """When a respondent first saw a question (a refresh keeps the first time)."""

    __tablename__ = "question_views"
    __table_args__ = (UniqueConstraint("respondent_id", "stimulus_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id", ondelete="CASCADE"), index=True)
    stimulus_id: Mapped[int] = mapped_column(ForeignKey("stimuli.id", ondelete="CASCADE"))
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("respondent_id", "stimulus_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id", ondelete="CASCADE"), index=True)
    stimulus_id: Mapped[int] = mapped_column(ForeignKey("stimuli.id", ondelete="CASCADE"))
    left_method: Mapped[str] = mapped_column(String(100))
    right_method: Mapped[str] = mapped_column(String(100))
    choice: Mapped[str] = mapped_column(String(8))  # left | right | equal, as clicked
    answer: Mapped[str] = mapped_column(String(8))  # a | b | equal, in the stimulus's method order
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    attention_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    app_version: Mapped[str] = mapped_column(String(50))
    model_versions: Mapped[dict] = mapped_column(JSON, default=dict)
