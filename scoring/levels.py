"""Classification levels (分类管理): what a decided recommendation does to a subject's level.

Pure: no database. The sink applies the result to the subject's row, once, when it
records the decision.
"""

from __future__ import annotations

from typing import Literal

from models.events import Recommendation

LevelName = Literal["strict", "normal", "lenient"]


def level_set_by(rec: Recommendation) -> LevelName | None:
    """The level the subject moves to when this recommendation is recorded, or None.

    Only a confirmed level change moves it, as the ledger's own state does; a proposal, a
    rejection or any other kind of recommendation leaves the level alone.
    """
    if rec.kind == "level_change" and rec.status == "confirmed":
        return rec.level_to
    return None
