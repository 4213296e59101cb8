"""What every register change needs: who made it, a refusal that says why, the audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Actor:
    """Who changes the register: a user of the app or an operator at the CLI.

    ``office_scope`` is the one office an officer works for (None: the county bureau or the
    command center, who act for every office)."""

    id: str
    office_scope: str | None = None
    officer_id: str | None = None  # the user's officer record, if they are one

    @property
    def county(self) -> bool:
        return self.office_scope is None

    def may_act_for(self, office_id: str) -> bool:
        return self.office_scope is None or self.office_scope == office_id


class Refused(ValueError):
    """A change the law or the office's limits do not allow, said in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


class NotFound(LookupError):
    """No such record, or none the actor may see (the two are not told apart)."""


def audit(session: Session, actor: Actor, action: str, target: str, **detail: Any) -> None:
    """Add the audit entry of a change to the change's own transaction. (The ORM is
    imported here, so that the rules, which import this module, stay pure.)"""
    from models.access import AuditEntry

    session.add(
        AuditEntry(
            at=datetime.now(UTC), user_id=actor.id, action=action, target=target, detail=detail
        )
    )
