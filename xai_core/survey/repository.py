"""All survey SQL: the engine (SQLite in WAL mode by default, PostgreSQL by URL), schema creation, and the
``SurveyStore`` that admins, respondents and the analysis go through.

Every method is one short transaction and returns plain dataclasses or DataFrames (no ORM objects escape).
On SQLite each transaction starts with ``BEGIN IMMEDIATE``: writers queue on the busy timeout instead of
failing when a read turns into a write, so many threads and processes can vote on one file at once.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..versions import __version__
from .schema import (
    ANSWERS,
    CHOICES,
    SCHEMA_VERSION,
    STIMULUS_KINDS,
    SURVEY_STATUSES,
    Base,
    QuestionView,
    Respondent,
    Response,
    SchemaInfo,
    Stimulus,
    Survey,
    utc_now,
)

DATABASE_URL_VARIABLE = "XAI_STUDIO_DATABASE_URL"
DATA_DIR_VARIABLE = "XAI_STUDIO_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
SQLITE_FILE_NAME = "surveys.sqlite"
SQLITE_BUSY_TIMEOUT_SECONDS = 60
MAX_COMMENT_CHARACTERS = 20_000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
POSTGRES_MIGRATION_LOCK = 731_947  # advisory lock id: one process creates the schema at a time


class SurveyError(Exception):
    """A survey request that cannot be served; the message says why and is safe to show."""


class SurveyNotFound(SurveyError):
    pass


class SurveyNotOpen(SurveyError):
    pass


class RespondentNotFound(SurveyError):
    pass


class SurveyDatabaseError(SurveyError):
    pass


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url``, else $XAI_STUDIO_DATABASE_URL, else SQLite at
    ``$XAI_STUDIO_DATA_DIR/surveys.sqlite`` (default ``data/`` in the project)."""
    chosen = url or os.environ.get(DATABASE_URL_VARIABLE)
    if chosen:
        return chosen
    return f"sqlite:///{Path(os.environ.get(DATA_DIR_VARIABLE) or DEFAULT_DATA_DIR) / SQLITE_FILE_NAME}"


def _with_psycopg_driver(url: str) -> str:
    """``postgres://`` and ``postgresql://`` use psycopg 3 (the driver we install), not psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_database_engine(url: str | None = None) -> Engine:
    """An engine for ``database_url(url)``. SQLite: the parent directory is created, WAL journal, busy
    timeout, foreign keys on, synchronous=FULL, and BEGIN IMMEDIATE for every transaction."""
    url = _with_psycopg_driver(database_url(url))
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    database = url.split("///", 1)[1] if "///" in url else ""
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def configure_sqlite(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below starts transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_schema(engine: Engine) -> int:
    """Create missing tables and stamp the schema version; refuse a database written by a newer XAI Studio.
    Safe when several processes start at once. Returns the database's schema version."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": POSTGRES_MIGRATION_LOCK})
        version = None
        if inspect(connection).has_table(SchemaInfo.__tablename__):
            version = connection.execute(select(SchemaInfo.version).where(SchemaInfo.id == 1)).scalar_one_or_none()
        if version is not None and version > SCHEMA_VERSION:  # checked before any table is created
            raise SurveyDatabaseError(
                f"the survey database has schema version {version}, newer than this XAI "
                f"Studio's {SCHEMA_VERSION}: upgrade XAI Studio (the database was left unchanged)"
            )
        Base.metadata.create_all(connection)
        if version is None:
            connection.execute(SchemaInfo.__table__.insert().values(id=1, version=SCHEMA_VERSION))
            return SCHEMA_VERSION
    return version


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class StimulusData:
    """A question: image and the two maps as PNG bytes (built by ``design.py``); ``position`` is its 1-based place
    in the survey once stored (0 before)."""

    kind: str
    method_a: str
    method_b: str
    image_png: bytes
    map_a_png: bytes
    map_b_png: bytes
    expected_answer: str | None = None
    details: dict = field(default_factory=dict)
    metrics: list = field(default_factory=list)
    position: int = 0


@dataclass(frozen=True)
class SurveyInfo:
    code: str
    title: str
    status: str
    methods: list
    model_id: str
    dataset: str
    seed: int
    consent_text: str
    instructions: str
    completion_code: str
    settings: dict
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    questions: int


@dataclass(frozen=True)
class Participant:
    """Who is answering: Prolific's query parameters when present, else nobody in particular."""

    prolific_pid: str | None = None
    study_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class RespondentState:
    token: str
    consented: bool
    completed: bool
    answered: int
    total: int


@dataclass(frozen=True)
class Question:
    """What a respondent sees: method names are deliberately absent. A captioning question also has the generated
    caption and the position (in ``caption.split()``) of the word its maps explain; other questions have "" and None."""

    number: int  # 1-based, in this respondent's order
    total: int
    position: int  # the stimulus position, sent back with the answer
    image_png: bytes
    left_png: bytes
    right_png: bytes
    caption: str = ""
    word_position: int | None = None


@dataclass(frozen=True)
class Progress:
    respondents: int
    consented: int
    completed: int
    responses: int
    questions: int

    @property
    def completion_rate(self) -> float:
        """Completed / consented respondents (0 when nobody has consented)."""
        return self.completed / self.consented if self.consented else 0.0


class SurveyStore:
    """The survey database. ``SurveyStore()`` opens the default (see ``database_url``) and creates the schema."""

    def __init__(self, url: str | None = None, engine: Engine | None = None):
        self.engine = engine or create_database_engine(url)
        try:
            self.schema_version = create_schema(self.engine)
        except Exception:
            if engine is None:  # the refused database is closed again, not held open by a half-built store
                self.engine.dispose()
            raise

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # ---- admin -------------------------------------------------------------------------------------------
    def create_survey(
        self,
        title: str,
        methods: list[str],
        stimuli: list[StimulusData],
        *,
        model_id: str = "",
        dataset: str = "",
        seed: int = 0,
        consent_text: str = "",
        instructions: str = "",
        settings: dict | None = None,
    ) -> str:
        """Store a survey (status "draft") with its stimuli; returns its share code."""
        if len(set(methods)) < 2:
            raise ValueError("a survey compares at least two different methods")
        if not any(stimulus.kind == "question" for stimulus in stimuli):
            raise ValueError("a survey needs at least one question")
        for stimulus in stimuli:
            if stimulus.kind not in STIMULUS_KINDS:
                raise ValueError(f"unknown stimulus kind {stimulus.kind!r}; known: {', '.join(STIMULUS_KINDS)}")
            if stimulus.expected_answer not in (None, *ANSWERS):
                raise ValueError(f"expected answer must be one of {ANSWERS}, got {stimulus.expected_answer!r}")
        with self._transaction() as session:
            survey = Survey(
                code=self._unused_code(session),
                title=title.strip() or "Untitled survey",
                status="draft",
                methods=list(methods),
                model_id=model_id,
                dataset=dataset,
                seed=seed,
                consent_text=consent_text,
                instructions=instructions,
                completion_code=new_code(10),
                settings=settings or {},
            )
            session.add(survey)
            session.flush()
            session.add_all(
                Stimulus(
                    survey_id=survey.id,
                    position=position,
                    kind=s.kind,
                    method_a=s.method_a,
                    method_b=s.method_b,
                    image_png=s.image_png,
                    map_a_png=s.map_a_png,
                    map_b_png=s.map_b_png,
                    expected_answer=s.expected_answer,
                    details=s.details,
                    metrics=s.metrics,
                )
                for position, s in enumerate(stimuli, start=1)
            )
            return survey.code

    @staticmethod
    def _unused_code(session: Session) -> str:
        while True:
            code = new_code()
            if session.scalar(select(Survey.id).where(Survey.code == code)) is None:
                return code

    def list_surveys(self) -> list[SurveyInfo]:
        with self._transaction() as session:
            surveys = session.scalars(select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc())).all()
            return [self._info(session, survey) for survey in surveys]

    def survey(self, code: str) -> SurveyInfo:
        with self._transaction() as session:
            return self._info(session, self._survey(session, code))

    def set_status(self, code: str, status: str) -> SurveyInfo:
        """draft -> open -> closed (a closed survey may be reopened)."""
        if status not in SURVEY_STATUSES:
            raise ValueError(f"status must be one of {SURVEY_STATUSES}")
        with self._transaction() as session:
            survey = self._survey(session, code)
            if status == "draft" and survey.status != "draft":
                raise SurveyError("a survey that has been opened cannot go back to draft")
            survey.status = status
            if status == "open":
                survey.opened_at = survey.opened_at or utc_now()
                survey.closed_at = None
            elif status == "closed":
                survey.closed_at = utc_now()
            return self._info(session, survey)

    def delete_survey(self, code: str) -> None:
        with self._transaction() as session:
            session.delete(self._survey(session, code))

    def stimuli(self, code: str) -> list[StimulusData]:
        with self._transaction() as session:
            survey = self._survey(session, code)
            rows = session.scalars(select(Stimulus).where(Stimulus.survey_id == survey.id).order_by(Stimulus.position))
            return [
                StimulusData(
                    s.kind,
                    s.method_a,
                    s.method_b,
                    s.image_png,
                    s.map_a_png,
                    s.map_b_png,
                    s.expected_answer,
                    s.details,
                    s.metrics,
                    s.position,
                )
                for s in rows
            ]

    def progress(self, code: str) -> Progress:
        with self._transaction() as session:
            survey = self._survey(session, code)
            respondents = select(func.count()).select_from(Respondent).where(Respondent.survey_id == survey.id)
            return Progress(
                respondents=session.scalar(respondents),
                consented=session.scalar(respondents.where(Respondent.consented_at.is_not(None))),
                completed=session.scalar(respondents.where(Respondent.completed_at.is_not(None))),
                responses=session.scalar(select(func.count()).select_from(Response).where(Response.survey_id == survey.id)),
                questions=self._question_count(session, survey),
            )

    def responses(self, code: str) -> pd.DataFrame:
        """Every stored response of a survey, one row per vote, joined with its respondent and question:
        the table the CSV export writes and the analysis reads (see ``analysis.py`` for the columns it uses)."""
        with self._transaction() as session:
            survey = self._survey(session, code)
            rows = session.execute(
                select(Response, Respondent, Stimulus)
                .join(Respondent, Response.respondent_id == Respondent.id)
                .join(Stimulus, Response.stimulus_id == Stimulus.id)
                .where(Response.survey_id == survey.id)
                .order_by(Response.id)
            ).all()
            records = [
                {
                    "response_id": response.id,
                    "survey": survey.code,
                    "respondent": respondent.token,
                    "prolific_pid": respondent.prolific_pid or "",
                    "question": stimulus.position,
                    "kind": stimulus.kind,
                    "method_a": stimulus.method_a,
                    "method_b": stimulus.method_b,
                    "left_method": response.left_method,
                    "right_method": response.right_method,
                    "choice": response.choice,
                    "answer": response.answer,
                    "chosen_method": {"a": stimulus.method_a, "b": stimulus.method_b}.get(response.answer, "equal"),
                    "confidence": response.confidence,
                    "comment": response.comment,
                    "shown_at": _utc(response.shown_at),
                    "answered_at": _utc(response.answered_at),
                    "attention_passed": response.attention_passed,
                    "app_version": response.app_version,
                    "model_versions": response.model_versions,
                }
                for response, respondent, stimulus in rows
            ]
        return responses_frame(records)

    def stimulus_metrics(self, code: str) -> pd.DataFrame:
        """Automatic metrics stored with each question: DataFrame[question, method, metric, value, higher_is_better]."""
        records = [{"question": stimulus.position, **metric} for stimulus in self.stimuli(code) for metric in stimulus.metrics]
        return pd.DataFrame(records, columns=["question", "method", "metric", "value", "higher_is_better"])

    # ---- respondents -------------------------------------------------------------------------------------
    def join(self, code: str, participant: Participant = Participant(), consent: bool = False) -> str:
        """Start (or, for a Prolific id seen before, resume) a respondent of an open survey; returns their token.
        Question order and left/right sides are drawn once, from the survey seed and the token. With ``consent``
        their consent is recorded at once (the respondent page registers nobody before they agree)."""
        if consent:
            token = self.join(code, participant)
            self.consent(code, token)
            return token
        key = f"prolific:{participant.prolific_pid}" if participant.prolific_pid else None
        for _ in range(2):  # a second pass only when two requests raced to create the same Prolific respondent
            try:
                with self._transaction() as session:
                    survey = self._open_survey(session, code)
                    if key is not None:
                        existing = session.scalar(
                            select(Respondent.token).where(Respondent.survey_id == survey.id, Respondent.participant_key == key)
                        )
                        if existing is not None:
                            return existing
                    token = secrets.token_urlsafe(18)
                    positions = list(
                        session.scalars(select(Stimulus.position).where(Stimulus.survey_id == survey.id).order_by(Stimulus.position))
                    )
                    draw = random.Random(f"{survey.seed}:{token}")
                    if survey.settings.get("shuffle_questions", True):
                        draw.shuffle(positions)
                    session.add(
                        Respondent(
                            survey_id=survey.id,
                            token=token,
                            participant_key=key or f"token:{token}",
                            prolific_pid=participant.prolific_pid,
                            study_id=participant.study_id,
                            session_id=participant.session_id,
                            question_order=positions,
                            left_is_a=[draw.random() < 0.5 for _ in positions],
                            app_version=__version__,
                        )
                    )
                    return token
            except IntegrityError:
                continue
        raise SurveyDatabaseError("could not register the participant; please reload the page")

    def prolific_respondent(self, code: str, prolific_pid: str) -> str | None:
        """The token of the respondent with this Prolific id in this survey, or None (nothing is created)."""
        with self._transaction() as session:
            survey = self._survey(session, code)
            return session.scalar(
                select(Respondent.token).where(Respondent.survey_id == survey.id, Respondent.participant_key == f"prolific:{prolific_pid}")
            )

    def respondent(self, code: str, token: str) -> RespondentState:
        with self._transaction() as session:
            survey = self._survey(session, code)
            respondent = self._respondent(session, survey, token)
            answered = self._answered_positions(session, respondent)
            return RespondentState(
                respondent.token,
                respondent.consented_at is not None,
                respondent.completed_at is not None,
                len(answered),
                len(respondent.question_order),
            )

    def consent(self, code: str, token: str) -> None:
        with self._transaction() as session:
            survey = self._open_survey(session, code)
            respondent = self._respondent(session, survey, token)
            respondent.consented_at = respondent.consented_at or utc_now()

    def next_question(self, code: str, token: str) -> Question | None:
        """The first unanswered question in the respondent's order (None when all are answered). Its first
        showing time is stored, so a refresh neither skips a question nor resets its clock."""
        with self._transaction() as session:
            survey = self._open_survey(session, code)
            respondent = self._respondent(session, survey, token)
            if respondent.consented_at is None:
                raise SurveyError("consent is needed before the questions")
            answered = self._answered_positions(session, respondent)
            order = respondent.question_order
            remaining = [index for index, position in enumerate(order) if position not in answered]
            if not remaining:
                return None
            index = remaining[0]
            stimulus = self._stimulus(session, survey, order[index])
            if (
                session.scalar(
                    select(QuestionView.id).where(QuestionView.respondent_id == respondent.id, QuestionView.stimulus_id == stimulus.id)
                )
                is None
            ):
                try:
                    with session.begin_nested():
                        session.add(QuestionView(respondent_id=respondent.id, stimulus_id=stimulus.id))
                except IntegrityError:  # a racing refresh stored the first showing (PostgreSQL); its time stands
                    pass
            left, right = (
                (stimulus.map_a_png, stimulus.map_b_png) if respondent.left_is_a[index] else (stimulus.map_b_png, stimulus.map_a_png)
            )
            return Question(
                len(answered) + 1,
                len(order),
                stimulus.position,
                stimulus.image_png,
                left,
                right,
                stimulus.details.get("caption", ""),
                stimulus.details.get("word_position"),
            )

    def record_answer(self, code: str, token: str, position: int, choice: str, confidence: int | None = None, comment: str = "") -> bool:
        """Store one vote; True when stored, False when this respondent already answered this question (the
        first answer stands). ``choice`` is "left", "right" or "equal"; confidence 1-5 or None."""
        if choice not in CHOICES:
            raise ValueError(f"choice must be one of {CHOICES}, got {choice!r}")
        if confidence is not None and not 1 <= int(confidence) <= 5:
            raise ValueError("confidence must be between 1 and 5")
        comment = comment or ""
        if len(comment) > MAX_COMMENT_CHARACTERS:
            raise ValueError(f"a comment holds at most {MAX_COMMENT_CHARACTERS:,} characters (got {len(comment):,})")
        try:
            with self._transaction() as session:
                survey = self._open_survey(session, code)
                respondent = self._respondent(session, survey, token)
                if respondent.consented_at is None:
                    raise SurveyError("consent is needed before answering")
                if position not in respondent.question_order:
                    raise SurveyError(f"question {position} is not part of this survey")
                stimulus = self._stimulus(session, survey, position)
                if (
                    session.scalar(select(Response.id).where(Response.respondent_id == respondent.id, Response.stimulus_id == stimulus.id))
                    is not None
                ):
                    return False
                left_is_a = respondent.left_is_a[respondent.question_order.index(position)]
                left, right = (stimulus.method_a, stimulus.method_b) if left_is_a else (stimulus.method_b, stimulus.method_a)
                answer = "equal" if choice == "equal" else ("a" if (choice == "left") == left_is_a else "b")
                shown_at = session.scalar(
                    select(QuestionView.shown_at).where(
                        QuestionView.respondent_id == respondent.id, QuestionView.stimulus_id == stimulus.id
                    )
                )
                now = utc_now()
                session.add(
                    Response(
                        survey_id=survey.id,
                        respondent_id=respondent.id,
                        stimulus_id=stimulus.id,
                        left_method=left,
                        right_method=right,
                        choice=choice,
                        answer=answer,
                        confidence=None if confidence is None else int(confidence),
                        comment=comment,
                        shown_at=shown_at or now,
                        answered_at=now,
                        attention_passed=None if stimulus.expected_answer is None else answer == stimulus.expected_answer,
                        app_version=__version__,
                        model_versions=survey.settings.get("model_versions", {}),
                    )
                )
                return True
        except IntegrityError:  # the same vote raced in from a second request: the first one stands
            return False

    def complete(self, code: str, token: str) -> str:
        """Mark the respondent complete and return the survey's completion code (for Prolific)."""
        with self._transaction() as session:
            survey = self._survey(session, code)
            respondent = self._respondent(session, survey, token)
            remaining = len(respondent.question_order) - len(self._answered_positions(session, respondent))
            if remaining:
                raise SurveyError(f"{remaining} question(s) remain")
            respondent.completed_at = respondent.completed_at or utc_now()
            return survey.completion_code

    # ---- helpers -----------------------------------------------------------------------------------------
    @staticmethod
    def _survey(session: Session, code: str) -> Survey:
        survey = session.scalar(select(Survey).where(Survey.code == str(code).strip().upper()))
        if survey is None:
            raise SurveyNotFound(f"no survey has the code {code!r}")
        return survey

    def _open_survey(self, session: Session, code: str) -> Survey:
        survey = self._survey(session, code)
        if survey.status != "open":
            raise SurveyNotOpen("this survey is not open yet" if survey.status == "draft" else "this survey is closed")
        return survey

    @staticmethod
    def _respondent(session: Session, survey: Survey, token: str) -> Respondent:
        """Only a respondent of this survey: a token from another survey is unknown here."""
        respondent = session.scalar(select(Respondent).where(Respondent.survey_id == survey.id, Respondent.token == token))
        if respondent is None:
            raise RespondentNotFound("this link does not belong to a participant of this survey")
        return respondent

    @staticmethod
    def _stimulus(session: Session, survey: Survey, position: int) -> Stimulus:
        stimulus = session.scalar(select(Stimulus).where(Stimulus.survey_id == survey.id, Stimulus.position == position))
        if stimulus is None:
            raise SurveyError(f"question {position} is not part of this survey")
        return stimulus

    @staticmethod
    def _answered_positions(session: Session, respondent: Respondent) -> set[int]:
        return set(
            session.scalars(
                select(Stimulus.position).join(Response, Response.stimulus_id == Stimulus.id).where(Response.respondent_id == respondent.id)
            )
        )

    @staticmethod
    def _question_count(session: Session, survey: Survey) -> int:
        return session.scalar(select(func.count()).select_from(Stimulus).where(Stimulus.survey_id == survey.id))

    def _info(self, session: Session, survey: Survey) -> SurveyInfo:
        return SurveyInfo(
            survey.code,
            survey.title,
            survey.status,
            list(survey.methods),
            survey.model_id,
            survey.dataset,
            survey.seed,
            survey.consent_text,
            survey.instructions,
            survey.completion_code,
            dict(survey.settings),
            _utc(survey.created_at),
            _utc(survey.opened_at),
            _utc(survey.closed_at),
            self._question_count(session, survey),
        )


RESPONSE_COLUMNS = (
    "response_id",
    "survey",
    "respondent",
    "prolific_pid",
    "question",
    "kind",
    "method_a",
    "method_b",
    "left_method",
    "right_method",
    "choice",
    "answer",
    "chosen_method",
    "confidence",
    "comment",
    "shown_at",
    "answered_at",
    "response_seconds",
    "attention_passed",
    "app_version",
    "model_versions",
)


def responses_frame(records: list[dict]) -> pd.DataFrame:
    """Response records -> the responses DataFrame (RESPONSE_COLUMNS), with nullable confidence and attention columns
    and response_seconds = answered_at - shown_at."""
    frame = pd.DataFrame.from_records(records, columns=[c for c in RESPONSE_COLUMNS if c != "response_seconds"])
    frame["confidence"] = frame["confidence"].astype("Int64")
    frame["attention_passed"] = frame["attention_passed"].astype("boolean")
    frame["question"] = frame["question"].astype("int64")
    elapsed = pd.to_datetime(frame["answered_at"], utc=True) - pd.to_datetime(frame["shown_at"], utc=True)
    frame.insert(RESPONSE_COLUMNS.index("response_seconds"), "response_seconds", elapsed.dt.total_seconds().astype("float64"))
    return frame
