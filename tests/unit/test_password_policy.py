"""The password policy (NIST SP 800-63B-4): length, a list of common and breached
passwords, the user's own names refused, and no composition rules."""

from __future__ import annotations

import pytest

from ccwatch.web.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordRefused,
    check_password_policy,
    common_passwords,
)


def test_the_limits_follow_the_guideline() -> None:
    assert MIN_LENGTH >= 15  # single-factor passwords (SP 800-63B-4 3.1.1.2)
    assert MAX_LENGTH >= 64


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",  # words and spaces
        "ilikegreenteaverymuch",  # lower-case letters only: no composition rules
        "486135790241368",  # digits only, not a common one
        "风急浪高渡船停航了请大家回家休息",  # Chinese: each code point is one character
        "x" * 14 + "y",  # exactly the minimum length
        "long enough " * 21 + "abcd",  # exactly the maximum (256)
    ],
)
def test_acceptable_passwords(password: str) -> None:
    assert MIN_LENGTH <= len(password) <= MAX_LENGTH
    check_password_policy(password, "cy", "蔡园所 officer")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass 1", "at least 15"),
        ("x" * 257, "at most 256"),
        ("1q2w3e4r5t6y7u8i9o0p", "common"),  # on the list as it is
        ("Password1234567", "common"),  # a listed word with digits around it
        ("!!qwertyuiop2024!!", "common"),
        ("dragondragondragon", "common"),  # a listed word repeated
        ("iloveyou iloveyou", "common"),
        ("aaaaaaaaaaaaaaaaaa", "repeated"),
        ("abcabcabcabcabcabc", "repeated"),
        ("wangxiaoming2024!!", "user name"),  # the login name with a few characters added
        ("Wang Xiaoming Wang Xiaoming", "user name"),
        ("ccwatch-ccwatch-2026", "user name"),  # the service's name
        ("张晓明张晓明张晓明张晓明张晓明", "user name"),  # the Chinese display name
    ],
)
def test_refused_passwords(password: str, why: str) -> None:
    with pytest.raises(PasswordRefused, match=why) as refused:
        check_password_policy(password, "wangxiaoming", "张晓明 Wang Xiaoming")
    assert refused.value.zh and refused.value.as_dict()["en"] == str(refused.value)


def test_a_name_inside_a_long_password_is_allowed() -> None:
    check_password_policy("wangxiaoming likes green tea", "wangxiaoming")


def test_the_shipped_list_is_the_20000_common_passwords() -> None:
    common = common_passwords()
    assert len(common) > 19_000 and {"123456", "password", "iloveyou"} <= common
    assert all(p == p.casefold() for p in common)
