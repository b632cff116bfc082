"""Survey database fixtures: a SQLite file per test, a throwaway PostgreSQL server per session (a fresh database per
test), tiny surveys built from fake PNG bytes (no model), and a respondent who answers every question."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from xai_core.survey.repository import CHOICES, Participant, StimulusData, SurveyStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METHOD_PAIRS = (("lsft", "grad_cam"), ("grad_cam", "saliency"), ("saliency", "lsft"))
POSTGRES_MISSING = "PostgreSQL server binaries not found; `apt-get install postgresql` (make test does this as root)"
POSTGRES_SUPERUSER = "postgres"
POSTGRES_START_SECONDS = 60
_database_numbers = itertools.count(1)


def fake_png(label: str) -> bytes:
    """PNG signature + ``label``: not decodable, but every stored blob says which question and map it is."""
    return PNG_SIGNATURE + label.encode()


def make_stimuli(questions: int, attention: int = 0) -> list[StimulusData]:
    """``questions`` questions cycling through METHOD_PAIRS, then ``attention`` identical-maps checks (expected
    "equal"). The stimulus at position p has image ``image-p`` and maps ``map-a-p`` / ``map-b-p``."""
    stimuli = []
    for position in range(1, questions + 1):
        method_a, method_b = METHOD_PAIRS[(position - 1) % len(METHOD_PAIRS)]
        stimuli.append(
            StimulusData(
                "question",
                method_a,
                method_b,
                fake_png(f"image-{position}"),
                fake_png(f"map-a-{position}"),
                fake_png(f"map-b-{position}"),
                details={"label": position},
            )
        )
    for position in range(questions + 1, questions + attention + 1):
        same_map = fake_png(f"map-a-{position}")
        stimuli.append(
            StimulusData(
                "attention_identical", "lsft", "grad_cam", fake_png(f"image-{position}"), same_map, same_map, expected_answer="equal"
            )
        )
    return stimuli


def make_survey(
    store: SurveyStore, questions: int = 20, attention: int = 0, *, seed: int = 0, status: str = "open", settings: dict | None = None
) -> str:
    """Create a survey of fake stimuli (see ``make_stimuli``) in ``status`` ("draft", "open" or "closed");
    returns its code."""
    code = store.create_survey(
        "Reliability survey",
        ["lsft", "grad_cam", "saliency"],
        make_stimuli(questions, attention),
        seed=seed,
        consent_text="I agree.",
        settings=settings,
    )
    if status in ("open", "closed"):
        store.set_status(code, "open")
    if status == "closed":
        store.set_status(code, "closed")
    return code


def choice_for(respondent_number: int, position: int) -> str:
    """The choice respondent ``respondent_number`` makes on question ``position``: all three occur."""
    return CHOICES[(respondent_number + position) % len(CHOICES)]


def answer_all(store: SurveyStore, code: str, token: str, respondent_number: int = 0) -> list[int]:
    """Consent, answer every question with ``choice_for`` and complete; returns the positions in the order shown."""
    store.consent(code, token)
    shown = []
    while (question := store.next_question(code, token)) is not None:
        assert store.record_answer(code, token, question.position, choice_for(respondent_number, question.position), confidence=3)
        shown.append(question.position)
    store.complete(code, token)
    return shown


def respondent_participant(respondent_number: int) -> Participant:
    return Participant(prolific_pid=f"PID{respondent_number:04d}", study_id="STUDY", session_id=f"S{respondent_number}")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'surveys.sqlite'}"


@pytest.fixture
def store(sqlite_url):
    survey_store = SurveyStore(sqlite_url)
    yield survey_store
    survey_store.dispose()


# ---- PostgreSQL ------------------------------------------------------------------------------------------------
def postgres_binaries() -> tuple[str, str] | None:
    """(initdb, pg_ctl) from PATH, else from the newest /usr/lib/postgresql/<version>/bin; None when absent."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True):
        initdb, pg_ctl = Path(directory) / "initdb", Path(directory) / "pg_ctl"
        if initdb.exists() and pg_ctl.exists():
            return str(initdb), str(pg_ctl)
    return None


def _major_version(bin_directory: str) -> int:
    name = Path(bin_directory).parent.name
    return int(name) if name.isdigit() else -1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server reachable only through its unix socket in ``socket_dir``."""

    socket_dir: str
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{POSTGRES_SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    def admin_connection(self):
        """An autocommit psycopg connection to the ``postgres`` database (CREATE / DROP DATABASE)."""
        import psycopg

        return psycopg.connect(host=self.socket_dir, port=self.port, user=POSTGRES_SUPERUSER, dbname="postgres", autocommit=True)


@pytest.fixture(scope="session")
def postgres_server():
    """initdb + pg_ctl start into a temporary directory (as the ``postgres`` user when running as root, since the
    server refuses root); stopped with ``pg_ctl stop -m immediate`` and removed at the end, also on failure."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip(POSTGRES_MISSING)
    initdb, pg_ctl = binaries
    as_server_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root needs `runuser` to start PostgreSQL as the postgres user")
        try:
            pwd.getpwnam(POSTGRES_SUPERUSER)
        except KeyError:
            pytest.skip("running as root needs a `postgres` system user to start PostgreSQL")
        as_server_user = ["runuser", "-u", POSTGRES_SUPERUSER, "--"]
    root = tempfile.mkdtemp(prefix="xai-pg-")
    data_dir, log_file = os.path.join(root, "data"), os.path.join(root, "server.log")
    if as_server_user:
        shutil.chown(root, user=POSTGRES_SUPERUSER, group=POSTGRES_SUPERUSER)
    server = PostgresServer(socket_dir=root, port=free_port())
    try:
        subprocess.run(
            [*as_server_user, initdb, "-D", data_dir, f"--username={POSTGRES_SUPERUSER}", "--auth=trust", "--encoding=UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-k {root} -c listen_addresses='' -p {server.port} -c fsync=off"
        started = subprocess.run(
            [*as_server_user, pg_ctl, "-D", data_dir, "-l", log_file, "-o", options, "-w", "-t", str(POSTGRES_START_SECONDS), "start"],
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            log = Path(log_file).read_text() if os.path.exists(log_file) else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
        yield server
    finally:
        if os.path.exists(os.path.join(data_dir, "postmaster.pid")):
            subprocess.run([*as_server_user, pg_ctl, "-D", data_dir, "stop", "-m", "immediate"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"xai_survey_test_{next(_database_numbers)}"
    with postgres_server.admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    with postgres_server.admin_connection() as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request, sqlite_url):
    """The same test on a SQLite file and on a fresh PostgreSQL database (skipped without a server)."""
    if request.param == "sqlite":
        return sqlite_url
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def backend_store(backend_url):
    survey_store = SurveyStore(backend_url)
    yield survey_store
    survey_store.dispose()
