"""Prohibited contact (禁止接触): a subject close to a person a prohibition order names.

The persons an order names are other subjects under supervision (the only persons whose
positions ccwatch has). Judged by group, with gathering's machinery
(:mod:`alerts.gathering`): the subject and the persons their orders name join one group,
whose fixes meet in one place; a pair closer than ``no_contact_distance_m`` at nearly the
same time (fixes within 15 min) for ``no_contact_dwell_s`` raises a ``together``
sighting for the order's subject only (the person named did nothing by being there), and
this detector turns it into the alert; ``apart`` clears it. Only while the order is in
force (its days).
"""

from __future__ import annotations

from alerts.gathering import Meeting

DETECTOR = Meeting(
    "no_contact",
    lambda others: (
        f"与禁止令所列人员 {others} 接触",
        f"with {others}, whom a prohibition order forbids meeting",
    ),
)
