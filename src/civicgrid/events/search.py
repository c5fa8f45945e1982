"""Text search over cases (事件检索): the words of a case, and the index that finds them.

Chinese has no spaces, so a `LIKE '%垃圾%'` cannot use an index: over 1,000,000 cases it read
every row (0.5–6 s). Instead each case keeps its words (``Case.search_terms``), cut by jieba's
search mode (``rjieba``: a word and the shorter words inside it, 东城区 → 东城 城区 东城区), and each
database indexes them: a GIN index on PostgreSQL's ``tsvector``, an FTS5 table on SQLite kept
in step by triggers (migration 0012). A query is cut into words the same way and every word
must be among the case's words.

Both sides cut without the HMM guesser: it joins unknown characters into words depending on
what stands around them, so a name would be one word in a case and two in a query and not be
found. Without it an unknown name falls apart into the same single characters on both sides.
"""

from __future__ import annotations

import re

import rjieba
from sqlalchemy import ColumnElement, cast, literal, literal_column, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from civicgrid.errors import InvalidInput
from civicgrid.events.models import Case

# A word is letters and digits only (any script): punctuation and spaces are never searched, and
# such words need no quoting in PostgreSQL's tsvector/tsquery literals or FTS5's query syntax.
_WORD = re.compile(r"[^\W_]+")

# The same query typed into a case number: the number itself, not its words.
CASE_NUMBER = re.compile(r"\d{15}")


def _words(pieces) -> list[str]:
    seen: dict[str, None] = {}
    for piece in pieces:
        for word in _WORD.findall(piece.lower()):
            seen.setdefault(word, None)
    return list(seen)


def document_terms(*texts: str | None) -> str:
    """The words of a case's title, address and description, space-separated, each once."""
    return " ".join(_words(rjieba.cut_for_search(" ".join(t for t in texts if t), False)))


def query_words(q: str) -> list[str]:
    """The words a case must hold to match ``q``; InvalidInput when ``q`` holds none."""
    words = _words(rjieba.cut(q, False))
    if not words:
        raise InvalidInput("搜索内容须包含文字或数字", "The search must contain letters or digits")
    return words


def is_text(q: str | None) -> bool:
    """Whether ``q`` searches words (not empty, not a case number)."""
    return bool(q and q.strip()) and not CASE_NUMBER.fullmatch(q.strip())


def match_count(session: Session, q: str, limit: int) -> int:
    """How many cases hold every word of ``q``, counted up to ``limit`` (SQLite's FTS5 index alone:
    0.3 ms for 2,000, 5 ms for 85,000); lets the case list choose where SQLite starts."""
    fts = _fts_query(query_words(q))
    return session.scalar(text("SELECT count(*) FROM (SELECT rowid FROM case_search WHERE case_search MATCH :q "
                               "LIMIT :n)"), {"q": fts, "n": limit}) or 0


def _fts_query(words: list[str]) -> str:
    return " ".join(f'"{w}"' for w in words)  # FTS5: quoted words, all of them required


def matches(session: Session, q: str) -> ColumnElement[bool]:
    """The condition "this case matches the search ``q``": its number, or every word of ``q``."""
    q = q.strip()
    if CASE_NUMBER.fullmatch(q):
        return Case.number == q
    words = query_words(q)
    if session.get_bind().dialect.name == "postgresql":
        # The words go in as a tsquery literal, as they were stored: no text-search parser in between.
        tsquery = " & ".join(f"'{w}'" for w in words)
        return Case.search_terms.op("@@")(cast(literal(tsquery), TSQUERY))
    return Case.id.in_(select(literal_column("rowid")).select_from(text("case_search"))
                       .where(literal_column("case_search").op("MATCH")(_fts_query(words))))
