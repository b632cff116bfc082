"""Many respondents at once (threads sharing one store, on SQLite and PostgreSQL; separate processes on one SQLite
file) and a writer killed with SIGKILL mid-survey: no vote is lost, duplicated or half-written (issue 7)."""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func
from sqlalchemy import select as sql_select

from tests.survey.conftest import answer_all, choice_for, make_survey, respondent_participant
from xai_core.survey.repository import SurveyStore
from xai_core.survey.schema import QuestionView, Response

RESPONDENTS = 50
QUESTIONS = 20
WORKER_THREADS = 20
WORKER_PROCESSES = 20
RACING_THREADS = 10
HANG_GUARD_SECONDS = 300  # only stops a deadlocked test; no test asserts on time
KILL_AFTER_VOTES = 30


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def assert_every_vote_stored_once(store: SurveyStore, code: str, tokens: dict[str, int]) -> None:
    """RESPONDENTS x QUESTIONS rows, one per (respondent, question), each with the choice ``choice_for`` made."""
    votes = store.responses(code)
    assert len(votes) == RESPONDENTS * QUESTIONS
    assert not votes.duplicated(["respondent", "question"]).any()
    assert set(votes["respondent"]) == set(tokens)
    assert votes.groupby("respondent").size().eq(QUESTIONS).all()
    expected = [choice_for(tokens[token], question) for token, question in zip(votes["respondent"], votes["question"])]
    assert votes["choice"].tolist() == expected
    with store.engine.connect() as connection:
        assert connection.execute(sql_select(func.count()).select_from(Response)).scalar_one() == RESPONDENTS * QUESTIONS
    progress = store.progress(code)
    assert (progress.respondents, progress.consented, progress.completed, progress.responses) == (
        RESPONDENTS,
        RESPONDENTS,
        RESPONDENTS,
        RESPONDENTS * QUESTIONS,
    )


def respond_with_double_submits(store: SurveyStore, code: str, number: int) -> str:
    """One respondent answers every question. Every 5th submits each answer twice in a row, every 5th (offset 1)
    submits each answer from two threads at once: the first answer stands, the repeat returns False."""
    token = store.join(code, respondent_participant(number))
    assert store.join(code, respondent_participant(number)) == token
    store.consent(code, token)
    racing = ThreadPoolExecutor(max_workers=2) if number % 5 == 1 else None
    try:
        while (question := store.next_question(code, token)) is not None:
            choice = choice_for(number, question.position)
            if racing is not None:
                barrier = threading.Barrier(2)

                def submit() -> bool:
                    barrier.wait()
                    return store.record_answer(code, token, question.position, choice)

                submissions = [racing.submit(submit) for _ in range(2)]
                assert sorted(future.result() for future in submissions) == [False, True]
            else:
                assert store.record_answer(code, token, question.position, choice)
                if number % 5 == 0:
                    assert not store.record_answer(code, token, question.position, choice)
    finally:
        if racing is not None:
            racing.shutdown()
    store.complete(code, token)
    return token


def test_fifty_respondents_on_twenty_threads(backend_store):
    code = make_survey(backend_store, questions=QUESTIONS)
    with ThreadPoolExecutor(max_workers=WORKER_THREADS) as pool:
        futures = {number: pool.submit(respond_with_double_submits, backend_store, code, number) for number in range(RESPONDENTS)}
        tokens = {future.result(timeout=HANG_GUARD_SECONDS): number for number, future in futures.items()}
    assert_every_vote_stored_once(backend_store, code, tokens)


def race(threads: int, action) -> list:
    """Run ``action()`` on ``threads`` threads released together by a barrier; their results in thread order."""
    barrier = threading.Barrier(threads)

    def released():
        barrier.wait()
        return action()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(released) for _ in range(threads)]
        return [future.result(timeout=HANG_GUARD_SECONDS) for future in futures]


def test_racing_identical_votes_store_one_row(backend_store):
    code = make_survey(backend_store, questions=3)
    token = backend_store.join(code)
    backend_store.consent(code, token)
    position = backend_store.next_question(code, token).position
    results = race(RACING_THREADS, lambda: backend_store.record_answer(code, token, position, "left", comment="race"))
    assert sorted(results) == [False] * (RACING_THREADS - 1) + [True]
    votes = backend_store.responses(code)
    assert votes[["question", "choice", "comment"]].values.tolist() == [[position, "left", "race"]]


def test_racing_joins_with_one_prolific_id_make_one_respondent(backend_store):
    code = make_survey(backend_store, questions=3)
    tokens = race(RACING_THREADS, lambda: backend_store.join(code, respondent_participant(1)))
    assert len(set(tokens)) == 1
    assert backend_store.progress(code).respondents == 1


def test_racing_refreshes_show_one_question_and_record_one_view(backend_store):
    code = make_survey(backend_store, questions=5)
    token = backend_store.join(code)
    backend_store.consent(code, token)
    for number in range(1, 6):
        questions = race(RACING_THREADS, lambda: backend_store.next_question(code, token))
        assert {(question.number, question.position) for question in questions} == {(number, questions[0].position)}
        assert backend_store.record_answer(code, token, questions[0].position, "left")
    with backend_store.engine.connect() as connection:
        assert connection.execute(sql_select(func.count()).select_from(QuestionView)).scalar_one() == 5


def vote_in_own_process(url: str, code: str, respondent_numbers: list[int]) -> None:
    """A worker process: its own store (never the parent's engine), every answer submitted twice."""
    store = SurveyStore(url)
    try:
        for number in respondent_numbers:
            token = store.join(code, respondent_participant(number))
            store.consent(code, token)
            while (question := store.next_question(code, token)) is not None:
                for _ in range(2):
                    store.record_answer(code, token, question.position, choice_for(number, question.position))
            store.complete(code, token)
    finally:
        store.dispose()


def test_fifty_respondents_in_twenty_processes(store, sqlite_url):
    """Process p answers respondents p, p+20, p+40; processes 10-19 also answer respondents 0-9, racing the
    process that owns them for the same questions of the same respondent."""
    code = make_survey(store, questions=QUESTIONS)
    store.dispose()  # no open connection is inherited by the forked children
    assignments = [list(range(process, RESPONDENTS, WORKER_PROCESSES)) for process in range(WORKER_PROCESSES)]
    for process in range(10, WORKER_PROCESSES):
        assignments[process].append(process - 10)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=vote_in_own_process, args=(sqlite_url, code, numbers)) for numbers in assignments]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join(timeout=HANG_GUARD_SECONDS)
        assert [worker.exitcode for worker in workers] == [0] * WORKER_PROCESSES
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
    tokens = {store.join(code, respondent_participant(number)): number for number in range(RESPONDENTS)}
    assert_every_vote_stored_once(store, code, tokens)


def vote_until_killed(url: str, code: str, report_fd: int) -> None:
    """Respondent after respondent, forever: after each committed vote write "token position" to ``report_fd``."""
    store = SurveyStore(url)
    number = 0
    while True:
        token = store.join(code)
        store.consent(code, token)
        while (question := store.next_question(code, token)) is not None:
            store.record_answer(
                code, token, question.position, choice_for(number, question.position), confidence=4, comment=f"vote of respondent {number}"
            )
            os.write(report_fd, f"{token} {question.position}\n".encode())
        store.complete(code, token)
        number += 1


def read_reports(report_fd: int, received: bytearray, minimum_votes: int | None) -> None:
    """Append the writer's reports to ``received``: until it holds ``minimum_votes`` lines, or (None) until the
    pipe's end of file."""
    while minimum_votes is None or received.count(b"\n") < minimum_votes:
        ready, _, _ = select.select([report_fd], [], [], HANG_GUARD_SECONDS)
        assert ready, "the writer reported nothing"
        chunk = os.read(report_fd, 65536)
        if not chunk:
            assert minimum_votes is None, "the writer exited before it was killed"
            return
        received += chunk


def reported_votes(received: bytes) -> list[tuple[str, int]]:
    """(token, position) of every complete "token position" line."""
    lines = received[: received.rfind(b"\n") + 1].decode().splitlines()
    return [(token, int(position)) for token, position in (line.split() for line in lines)]


def test_writer_killed_mid_survey_loses_no_committed_vote(store, sqlite_url):
    code = make_survey(store, questions=7, attention=1)
    store.dispose()
    read_fd, write_fd = os.pipe()
    writer = multiprocessing.get_context("fork").Process(target=vote_until_killed, args=(sqlite_url, code, write_fd))
    writer.start()
    os.close(write_fd)
    received = bytearray()
    try:
        read_reports(read_fd, received, KILL_AFTER_VOTES)
        os.kill(writer.pid, signal.SIGKILL)
        writer.join(timeout=HANG_GUARD_SECONDS)
        assert writer.exitcode == -signal.SIGKILL
        read_reports(read_fd, received, None)  # what was written between the last read and the kill
    finally:
        if writer.is_alive():
            writer.kill()
            writer.join()
        os.close(read_fd)
    reported = reported_votes(bytes(received))
    assert len(reported) >= KILL_AFTER_VOTES

    connection = sqlite3.connect(sqlite_path(sqlite_url))
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = set(
            connection.execute(
                "SELECT respondents.token, stimuli.position FROM responses "
                "JOIN respondents ON respondents.id = responses.respondent_id "
                "JOIN stimuli ON stimuli.id = responses.stimulus_id"
            ).fetchall()
        )
        required = [column.name for column in Response.__table__.columns if column.name != "attention_passed"]
        half_written = connection.execute(
            f"SELECT count(*) FROM responses WHERE {' OR '.join(f'{name} IS NULL' for name in required)}"
        ).fetchone()
    finally:
        connection.close()
    assert set(reported) <= stored
    assert len(stored) - len(reported) in (0, 1)  # at most the vote committed just before the kill went unreported
    assert half_written == (0,)

    survivor = SurveyStore(sqlite_url)  # the survey goes on after the crash
    try:
        assert len(survivor.responses(code)) == len(stored)
        token = survivor.join(code)
        assert len(answer_all(survivor, code, token)) == 8
    finally:
        survivor.dispose()
