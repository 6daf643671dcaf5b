"""The mutation runner (kernel/mutations.py, what the door runs every mutation in) against
real concurrent PostgreSQL transactions."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import IntegrityError, connection, connections, transaction

from kernel.errors import AppError, ErrorCode
from kernel.mutations import DEFAULT_ATTEMPTS, MutationNestingError, serializable

pytestmark = pytest.mark.django_db(transaction=True)


def mutation[**P, R](body: Callable[P, R]) -> Callable[P, R]:
    """A plain function run the way the door runs a registered mutation's body."""
    return retried(body, attempts=DEFAULT_ATTEMPTS)


def retried[**P, R](body: Callable[P, R], *, attempts: int) -> Callable[P, R]:
    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        call = functools.partial(body, *args, **kwargs)
        return serializable(call, name=body.__name__, attempts=attempts)

    return run


@pytest.fixture
def counters() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kernel_test_counter (id int PRIMARY KEY, value int NOT NULL)")
        cursor.execute("INSERT INTO kernel_test_counter VALUES (1, 0), (2, 0)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE kernel_test_counter")


def read(counter_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM kernel_test_counter WHERE id = %s", [counter_id])
        return int(cursor.fetchone()[0])


def write(counter_id: int, value: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE kernel_test_counter SET value = %s WHERE id = %s", [value, counter_id]
        )


def run_in_threads(*functions: Callable[[], object]) -> list[BaseException]:
    """Run each function in its own thread (and connection); return what they raised."""
    failures: list[BaseException] = []

    def target(function: Callable[[], object]) -> None:
        try:
            function()
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(f,)) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return failures


def test_a_mutation_runs_serializable():
    @mutation
    def isolation() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            return str(cursor.fetchone()[0])

    assert isolation() == "serializable"
    with connection.cursor() as cursor:  # and the pooled connection is back to the default
        cursor.execute("SHOW transaction_isolation")
        assert cursor.fetchone()[0] == "read committed"


def test_conflicting_increments_both_land_because_one_is_retried(counters):
    both_have_read = threading.Barrier(2, timeout=10)
    attempts: list[str] = []
    committed: list[str] = []
    lock = threading.Lock()

    @mutation
    def increment(name: str) -> None:
        with lock:
            attempts.append(name)
            first_attempt = attempts.count(name) == 1
        value = read(1)
        if first_attempt:
            both_have_read.wait()  # both transactions now hold a stale read
        write(1, value + 1)
        transaction.on_commit(lambda: committed.append(name))

    failures = run_in_threads(lambda: increment("a"), lambda: increment("b"))

    assert failures == []
    assert read(1) == 2
    assert len(attempts) == 3  # one of the two ran twice
    assert sorted(committed) == ["a", "b"]  # once per successful attempt, not per attempt


def test_a_deadlock_is_retried(counters):
    both_have_locked = threading.Barrier(2, timeout=10)
    attempts: list[int] = []

    @mutation
    def move(first: int, second: int) -> None:
        attempts.append(first)
        write(first, read(first) + 1)
        if attempts.count(first) == 1:
            both_have_locked.wait()
        write(second, read(second) + 1)

    failures = run_in_threads(lambda: move(1, 2), lambda: move(2, 1))

    assert failures == []
    assert (read(1), read(2)) == (2, 2)
    # One of the two was retried (its retry may itself meet the other still committing).
    assert len(attempts) >= 3


def test_a_mutation_that_keeps_conflicting_gives_up_with_a_clear_error():
    attempts: list[int] = []
    committed: list[int] = []

    @mutation
    def always_conflicts() -> None:
        attempts.append(1)
        transaction.on_commit(lambda: committed.append(1))
        with connection.cursor() as cursor:  # a real 40001 from PostgreSQL
            cursor.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; "
                "END $$"
            )

    with pytest.raises(AppError) as raised:
        always_conflicts()

    assert raised.value.code == ErrorCode.CONFLICT
    assert "try again" in raised.value.message
    assert len(attempts) == DEFAULT_ATTEMPTS
    assert committed == []


def test_the_bound_is_configurable():
    attempts: list[int] = []

    def always_conflicts() -> None:
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$")

    with pytest.raises(AppError):
        retried(always_conflicts, attempts=2)()
    assert len(attempts) == 2


def test_other_database_errors_are_not_retried(counters):
    attempts: list[int] = []

    @mutation
    def duplicate() -> None:
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO kernel_test_counter VALUES (1, 0)")

    with pytest.raises(IntegrityError):
        duplicate()
    assert attempts == [1]


def test_an_error_rolls_back_the_whole_mutation(counters):
    @mutation
    def half_done() -> None:
        write(1, 99)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        half_done()
    assert read(1) == 0


def test_a_mutation_inside_another_joins_its_transaction(counters):
    @mutation
    def inner() -> None:
        write(2, 7)

    @mutation
    def outer() -> None:
        write(1, 5)
        inner()
        raise ValueError("roll both back")

    with pytest.raises(ValueError, match="roll both back"):
        outer()
    assert (read(1), read(2)) == (0, 0)


def test_a_mutation_refuses_to_run_inside_a_foreign_transaction():
    @mutation
    def change() -> None:
        pass

    with pytest.raises(MutationNestingError, match="outside any transaction"), transaction.atomic():
        change()
