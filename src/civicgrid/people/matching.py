"""Is this incoming row a person we already hold? (一人一档)

The ID number decides first: the same keyed hash is the same person, two different valid
ID numbers are two people. Without that, name + birth date + phone are scored:

==========================  =====
same name and birth date    0.7
same phone                  +0.3
different gender            -0.3
name similar (same phone    0.6 × similarity
and birth date)             + 0.3 + 0.3 … see ``score``
==========================  =====

A score at or above ``settings.people_match_merge_score`` merges; at or above
``people_match_review_score`` the row waits in the review queue; below, a new record is
created. Pure functions: the importer fetches candidates, this module only judges them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import Levenshtein


@dataclass
class Candidate:
    """What matching needs to know of a stored (or pending) person."""

    key: Any  # the person id, or ("pending", n) for a row created earlier in the same chunk
    name: str
    birth_date: dt.date | None
    gender: str | None
    id_hash: str | None
    phone_hash: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Judgement:
    """The best candidate, its score and the reasons (中文, English) behind it."""

    candidate: Candidate | None
    score: float
    reasons: tuple[tuple[str, str], ...]


def score(incoming: Candidate, stored: Candidate) -> tuple[float, list[tuple[str, str]]]:
    """How likely ``incoming`` is ``stored`` (0–1), with the reasons."""
    reasons: list[tuple[str, str]] = []
    if incoming.id_hash and stored.id_hash:
        if incoming.id_hash == stored.id_hash:
            return 1.0, [("证件号码一致", "same ID number")]
        return 0.0, [("证件号码不同", "different ID numbers")]
    if incoming.birth_date is None or stored.birth_date != incoming.birth_date:
        return 0.0, [("出生日期不同", "different birth date")]
    total = 0.0
    if incoming.name == stored.name:
        total += 0.7
        reasons.append(("姓名、出生日期一致", "same name and birth date"))
    else:
        similarity = Levenshtein.normalized_similarity(incoming.name, stored.name)
        total += 0.3 + 0.4 * similarity
        reasons.append((f"出生日期一致，姓名相似（{similarity:.0%}）", f"same birth date, similar name ({similarity:.0%})"))
    if incoming.phone_hash and stored.phone_hash:
        if incoming.phone_hash == stored.phone_hash:
            total += 0.3
            reasons.append(("联系电话一致", "same phone"))
        else:
            reasons.append(("联系电话不同", "different phone"))
    else:
        reasons.append(("缺少联系电话，无法比对", "no phone to compare"))
    if incoming.gender and stored.gender and incoming.gender != stored.gender:
        total -= 0.3
        reasons.append(("性别不同", "different gender"))
    return max(0.0, min(1.0, total)), reasons


def best_match(incoming: Candidate, candidates: list[Candidate]) -> Judgement:
    """The highest-scoring candidate (ties: the oldest record)."""
    best: Judgement = Judgement(None, 0.0, ())
    for cand in candidates:
        s, reasons = score(incoming, cand)
        if s > best.score:
            best = Judgement(cand, s, tuple(reasons))
    return best
