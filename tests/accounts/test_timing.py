"""No account enumeration by timing: sign-up, sign-in, password reset and code sign-in take
as long for an address that has an account as for one that has none.

Each test times the real views through Django's test client, interleaving the two kinds
of address (in alternating order, so the machine's load falls on both alike), and
compares the medians with the cost of one password hash: a path that hashes when the
other does not differs by a whole hash; equal work differs by a few milliseconds of
database writes. The hasher is Django's PBKDF2 with fewer iterations, the same work for
any password, only quicker to sample than the production count."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.test import Client

from accounts.models import User
from tests.accounts.helpers import PASSWORD

pytestmark = pytest.mark.django_db

SAMPLES = 20
"""Per kind of address: with ~60 ms hashes, each test takes a few seconds."""


class SampledPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 at a fifth of Django's iterations (~60 ms here): real hashing, sooner done."""

    iterations = 300_000


_addresses = itertools.count(1)


def client() -> Client:
    """A client from an address of its own, so that no per-IP rate limit is reached: an
    attacker spreads their requests too."""
    n = next(_addresses)
    return Client(REMOTE_ADDR=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")


@pytest.fixture(autouse=True)
def sampled_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = [f"{__name__}.SampledPBKDF2PasswordHasher"]


@pytest.fixture
def registered() -> list[str]:
    """Addresses with accounts (verified, with a password hashed by the sampled hasher)."""
    hashed = make_password(PASSWORD)
    emails = [f"registered-{i}@example.com" for i in range(SAMPLES + 1)]
    users = User.objects.bulk_create([User(email=email, password=hashed) for email in emails])
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users]
    )
    return emails


def milliseconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


@dataclass
class Timings:
    registered: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)
    hash: list[float] = field(default_factory=list)
    """One password hash, timed in every round: the same load as the attempts."""


def timed(registered: list[str], attempt: Callable[[str], object]) -> Timings:
    """`attempt(email)` for each registered address and as many new ones, interleaved
    in alternating order; the first round warms up and is not counted."""
    timings = Timings()
    for i, email in enumerate(registered):
        calls: list[tuple[list[float], Callable[[], object]]] = [
            (timings.registered, partial(attempt, email)),
            (timings.new, partial(attempt, f"new-{i}@example.com")),
            (timings.hash, partial(make_password, PASSWORD)),
        ]
        for times, call in calls if i % 2 else reversed(calls):
            elapsed = milliseconds(call)
            if i:
                times.append(elapsed)
    return timings


def assert_same_time(timings: Timings) -> None:
    """The medians differ by less than half a hash: no path does a hash the other skips."""
    known, unknown = statistics.median(timings.registered), statistics.median(timings.new)
    one_hash = statistics.median(timings.hash)
    detail = (
        f"median registered {known:.1f} ms, new {unknown:.1f} ms, one hash {one_hash:.1f} ms; "
        f"registered {[round(x) for x in timings.registered]}, "
        f"new {[round(x) for x in timings.new]}"
    )
    print(detail)
    assert one_hash > 10, f"the hash is too cheap for this comparison to mean anything: {detail}"
    assert abs(known - unknown) < one_hash / 2, detail


def test_sign_up_takes_as_long_for_a_registered_address(registered):
    def sign_up(email: str) -> None:
        response = client().post(
            "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
        )
        assert response.status_code == 302, response.content
        assert response["Location"] == "/accounts/confirm-email/"

    assert_same_time(timed(registered, sign_up))


def test_sign_in_takes_as_long_for_an_unknown_address(registered):
    def sign_in(email: str) -> None:
        response = client().post("/accounts/login/", {"login": email, "password": "not-it-at-all"})
        assert response.status_code == 200
        assert b"are not correct" in response.content

    assert_same_time(timed(registered, sign_in))


def test_password_reset_takes_as_long_for_an_unknown_address(registered):
    def reset(email: str) -> None:
        response = client().post("/accounts/password/reset/", {"email": email})
        assert response.status_code == 302

    assert_same_time(timed(registered, reset))


def test_code_sign_in_takes_as_long_for_an_unknown_address(registered):
    def request_code(email: str) -> None:
        response = client().post("/accounts/login/code/", {"email": email})
        assert response.status_code == 302

    assert_same_time(timed(registered, request_code))
