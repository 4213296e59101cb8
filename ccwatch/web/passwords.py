"""The password policy of the command-center app, after NIST SP 800-63B-4 (3.1.1.2):

- at least 15 characters, since a password is the only factor here (the guideline's minimum
  for single-factor passwords; 8 is allowed only as part of multi-factor authentication);
- up to 256 characters (the guideline: a maximum of at least 64), any Unicode, spaces too,
  each code point counting as one character;
- no composition rules (no "a digit and a capital"), no periodic change;
- refused if it is a common or breached password, or one of them with digits, punctuation or
  spaces around it or repeated (``password1234567``, ``dragondragondragon``); the list is the
  20,000 most common passwords of Have I Been Pwned's corpus (Royce Williams' list, as Django
  5.2 ships it in ``django/contrib/auth/common-passwords.txt.gz``): ``common-passwords.txt``
  beside this module, and docs/web.md says how to reproduce it;
- refused if it is the user's login name or display name, or the service's name, or mostly
  made of one of them, or one short piece repeated (``aaaaaaaaaaaaaaa``, ``abcabcabc...``).

Every password set is checked (a new user's, a reset's temporary one, one's own change:
:mod:`ccwatch.web.users`); log-in accepts any password whose hash matches.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from register.core import Refused

MIN_LENGTH = 15
MAX_LENGTH = 256
LIST = Path(__file__).with_name("common-passwords.txt")
SERVICE_WORDS = ("ccwatch", "shengsi", "嵊泗", "command center")
_EDGES = string.digits + string.punctuation + string.whitespace
_SEPARATORS = str.maketrans("", "", string.punctuation + string.whitespace)
MIN_OWN = 8  # characters a password must keep besides a name it contains


class PasswordRefused(Refused):
    """A new password the policy refuses; the message says why, in Chinese and English
    (the API answers 422, ``ccwatch users`` exits 2, as for any refused change)."""


@cache
def common_passwords() -> frozenset[str]:
    """The list, lower-cased (it is lower-case already) and without blank lines."""
    lines = LIST.read_text("utf-8").splitlines()
    return frozenset(s for line in lines if (s := line.strip().casefold()))


def check_password_policy(password: str, user_id: str = "", name: str = "") -> None:
    """Raise :class:`PasswordRefused` if ``password`` may not be set for this user."""
    if len(password) < MIN_LENGTH:
        raise PasswordRefused(
            f"密码至少 {MIN_LENGTH} 个字符", f"use a password of at least {MIN_LENGTH} characters"
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(
            f"密码最多 {MAX_LENGTH} 个字符", f"use a password of at most {MAX_LENGTH} characters"
        )
    text = password.casefold()
    forms = _forms(text)
    for word in (user_id, name, *name.split(), *SERVICE_WORDS):
        if any(_mostly(form, word.casefold()) for form in forms):
            raise PasswordRefused(
                "密码不能是（或基于）用户名、姓名或系统名称",
                "a password may not be (or be made of) the user name, the name or the service's",
            )
    if _repeats_short_piece(text):
        raise PasswordRefused(
            "密码不能由重复的字符组成", "a password may not be one piece repeated"
        )
    if not forms.isdisjoint(common_passwords()):
        raise PasswordRefused(
            "这是常见或已泄露的密码，请另选",
            "that is a common or breached password: choose another",
        )


def _forms(text: str) -> set[str]:
    """The password and what it is made of: without what surrounds it, without separators,
    and the piece it repeats."""
    forms = {text, text.strip(_EDGES), text.translate(_SEPARATORS)}
    for form in list(forms):
        unit = _unit(form)
        forms |= {unit, unit.strip(_EDGES)}
    return {f for f in forms if f}


def _unit(text: str) -> str:
    """The shortest piece that ``text`` repeats (``text`` itself if none)."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def _repeats_short_piece(text: str) -> bool:
    return len(_unit(text)) <= 4


def _mostly(text: str, word: str) -> bool:
    """``text`` is ``word``, or ``word`` (once or more) with fewer than ``MIN_OWN`` other
    characters; Latin words shorter than 3 letters are not looked for (Chinese names of 2
    characters are)."""
    word = word.strip()
    if len(word) < (3 if word.isascii() else 2) or word not in text:
        return False
    return len(text.replace(word, "").strip(_EDGES)) < MIN_OWN
