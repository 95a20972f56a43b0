"""Sampling hash and seeds: stable across processes, uniform, monotone in the rate."""

from __future__ import annotations

import hashlib

import pytest

from interleave_sdk.bucketing import bucket, derive_seed, seed_for, user_key

GOLDEN = [
    (("reco-v2", "u42"), 0.9805342818417893),
    (("reco-v2", "alice"), 0.8756108260143713),
    (("exp", "12345"), 0.2582232273551905),
    (("reco-v2", "ユーザー"), 0.09115015113364362),
]


@pytest.mark.parametrize(("args", "value"), GOLDEN)
def test_bucket_golden_vectors(args: tuple[str, str], value: float) -> None:
    """Pinned (salt, user) → value pairs: changing the hash would reshuffle every live experiment."""
    assert bucket(*args) == value


def test_bucket_is_sha256_of_salt_and_user() -> None:
    """The documented construction: first 8 bytes of SHA-256(salt ␟ user) over 2**64."""
    digest = hashlib.sha256(b"reco-v2\x1fu42").digest()
    assert bucket("reco-v2", "u42") == int.from_bytes(digest[:8], "big") / 2**64


def test_bucket_is_uniform() -> None:
    """10k users spread evenly over ten deciles (each within ±15 % of 1,000)."""
    counts = [0] * 10
    for i in range(10_000):
        counts[int(bucket("exp", f"user-{i}") * 10)] += 1
    assert all(850 <= c <= 1150 for c in counts), counts


def test_salt_changes_the_assignment() -> None:
    """Different experiments sample different users."""
    inside_a = {i for i in range(2000) if bucket("exp-a", str(i)) < 0.5}
    inside_b = {i for i in range(2000) if bucket("exp-b", str(i)) < 0.5}
    assert 0.35 < len(inside_a & inside_b) / len(inside_a) < 0.65


def test_raising_the_rate_keeps_everyone_already_in() -> None:
    """In sample at 10 % implies in sample at 20 %."""
    at_10 = {i for i in range(5000) if bucket("exp", str(i)) < 0.1}
    at_20 = {i for i in range(5000) if bucket("exp", str(i)) < 0.2}
    assert at_10 < at_20


@pytest.mark.parametrize(("raw", "key"), [(None, None), ("", None), ("u1", "u1"), (42, "42")])
def test_user_key_normalises_ids(raw: object, key: str | None) -> None:
    """Ids hash as their text; None and "" mean "no user"."""
    assert user_key(raw) == key


def test_seed_strategies() -> None:
    """user seeds by experiment and user; request by ranking id; no user falls back to request."""
    assert seed_for("user", "exp", "u1", "r1") == ("user", derive_seed("user", "exp", "u1"))
    assert seed_for("user", "exp", "u1", "r1") == seed_for("user", "exp", "u1", "r2")
    assert seed_for("request", "exp", "u1", "r1") == ("request", derive_seed("request", "r1"))
    assert seed_for("user", "exp", None, "r1") == ("request", derive_seed("request", "r1"))


def test_seeds_fit_in_53_bits() -> None:
    """Seeds stay exact in JSON consumers that use doubles."""
    assert all(0 <= derive_seed("request", str(i)) < 2**53 for i in range(1000))
    assert derive_seed("request", "abc") == 3388233475688437
