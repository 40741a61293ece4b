"""How much a class board takes, and from whom: the limits that hold a board against a crowd.

Each limit is a module constant, read once from its environment variable when the module loads:

  NNLAB_BOARD_ENTRIES (200)             entries a board shows at once; an entry removed frees its place
  NNLAB_BOARD_STORED (2000)             runs a board ever takes, removed ones included (they are kept, emptied)
  NNLAB_BOARD_TAB_RUNS (20)             runs one browser tab may submit to one board...
  NNLAB_BOARD_TAB_INTERVAL_S (10)       ...one every this many seconds
  NNLAB_BOARD_TABS_PER_ADDRESS (40)     tabs one client address may stand for (a class behind one school router):
                                        it may submit that many times a tab's runs to a board, and that many
                                        runs in any one interval
  NNLAB_BOARD_BOARDS_PER_HOUR (5)       boards one tab may start in an hour
  NNLAB_BOARD_ADDRESS_BOARDS_PER_HOUR (20)  boards one client address may start in an hour
  NNLAB_BOARD_RETENTION_DAYS (30)       a board with no new entry for this long is deleted with its entries
                                        (when the next board is started anywhere)

A nickname belongs to the tab that first shows it on a board: another tab's run under a name that reads the same
is refused (compared by `nickname_key`: case, spacing, compatibility forms and look-alike characters as Unicode's
confusables table lists them aside), the same tab may submit under it again.

Who submits is known by two opaque strings the page passes: the tab's `owner` and the client's `address`
(None on localhost, where no address limit applies). Neither is stored. An entry's `session` column holds a
mark: a 32-hex-digit tag of the owner, then one of the address, each salted with the board id so that marks
do not link boards. A board keeps its creator's mark (salted app-wide, to count across boards) in its settings
only for the hour the creation limit needs it. Every refusal is one plain line: the limit hit, and when to try
again.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import unicodedata
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, case, delete, false, func, select
from sqlalchemy.orm import Session

from core.history.db import BoardRow, EntryRow


def _setting(name: str, default: float, kind: type[int] | type[float] = int) -> float:
    """$name as a positive number of `kind`, else `default`; ValueError when it is set to anything else."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if not 0 < value < math.inf:
        what = "whole number" if kind is int else "number"
        raise ValueError(f"{name} must be a positive {what}, e.g. {name}={default:g}. Got {text[:40]!r} instead.")
    return value


ENTRIES = int(_setting("NNLAB_BOARD_ENTRIES", 200))
STORED = int(_setting("NNLAB_BOARD_STORED", 2000))
TAB_RUNS = int(_setting("NNLAB_BOARD_TAB_RUNS", 20))
TAB_INTERVAL_S = _setting("NNLAB_BOARD_TAB_INTERVAL_S", 10.0, float)
TABS_PER_ADDRESS = int(_setting("NNLAB_BOARD_TABS_PER_ADDRESS", 40))
BOARDS_PER_HOUR = int(_setting("NNLAB_BOARD_BOARDS_PER_HOUR", 5))
ADDRESS_BOARDS_PER_HOUR = int(_setting("NNLAB_BOARD_ADDRESS_BOARDS_PER_HOUR", 20))
RETENTION_DAYS = _setting("NNLAB_BOARD_RETENTION_DAYS", 30.0, float)

TAG_CHARS = 32  # 128 bits of sha256: two tags fill the 64 characters of an entry's `session` column
NOBODY = "-" * TAG_CHARS  # stands for a missing owner or address; never a tag, which is hex
CREATOR_KEY = "_creator"  # the board settings' key for its creator's mark; no link setting starts with "_"
CREATOR_SALT = "nnlab board creator"
HOUR = timedelta(hours=1)


def tag(salt: str, value: str | None) -> str:
    """A short salted hash of `value`, or NOBODY when there is none."""
    if not value:
        return NOBODY
    return hashlib.sha256(f"{salt}\n{value}".encode("utf-8", "replace")).hexdigest()[:TAG_CHARS]


def mark(salt: str, owner: str | None, address: str | None) -> str:
    """What is stored of a submitter: the owner's tag, then the address's."""
    return tag(salt, owner) + tag(salt, address)


def creator_mark(owner: str | None, address: str | None) -> str:
    """What a new board keeps of its creator for an hour (the same salt for every board)."""
    return mark(CREATOR_SALT, owner, address)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _left(since: datetime | None, seconds: float, moment: datetime) -> int:
    """Whole seconds from `moment` until `seconds` after `since` (0 when past or when there is no `since`)."""
    if since is None:
        return 0
    since = since if since.tzinfo else since.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return max(0, math.ceil(seconds - (moment - since).total_seconds()))


def submission_refusal(session: Session, board_id: str, owner: str, address: str | None,
                       moment: datetime) -> str | None:
    """Why the board cannot take a run from this tab and address at `moment`, or None when it can."""
    mine = EntryRow.session.startswith(tag(board_id, owner))
    ours = EntryRow.session.endswith(tag(board_id, address)) if address else false()
    recent = ours & (EntryRow.created > moment - timedelta(seconds=TAB_INTERVAL_S))
    stored, shown, tab_runs, tab_last, address_runs, burst, burst_first = session.execute(
        select(func.count(EntryRow.id), _count(~EntryRow.removed), _count(mine),
               func.max(case((mine, EntryRow.created))), _count(ours), _count(recent),
               func.min(case((recent, EntryRow.created))))
        .where(EntryRow.board == board_id)).one()
    address_cap = TAB_RUNS * TABS_PER_ADDRESS
    if shown >= ENTRIES:
        return f"This board is full ({shown} entries): ask your teacher to remove some or to start a new board."
    if stored >= STORED:
        return f"This board has taken {stored} runs, the most one board keeps: ask your teacher to start a new one."
    if tab_runs >= TAB_RUNS:
        return f"This tab has submitted {tab_runs} runs to this board, the most one tab may: it can send no more."
    if address_runs >= address_cap:
        return (f"Your network address has submitted {address_runs} runs to this board, the most one address may: "
                "no more can come from it.")
    if wait := _left(tab_last, TAB_INTERVAL_S, moment):
        return f"One submission every {TAB_INTERVAL_S:g} s from each tab: try again in {wait} s."
    if burst >= TABS_PER_ADDRESS:
        wait = max(1, _left(burst_first, TAB_INTERVAL_S, moment))
        return (f"{burst} runs came from your network address in the last {TAB_INTERVAL_S:g} s, the most one "
                f"address may: try again in {wait} s.")
    return None


# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt), which unicodedata does not expose: invisible
# characters that UTS #39 drops from a skeleton, such as zero-width joiners, bidi marks and variation selectors.
IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
             (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
             (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
             (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables table (UTS #39) as confusable_homoglyphs ships it: each character -> its prototype."""
    from confusable_homoglyphs.confusables import confusables_data  # 900 kB of JSON: loaded on the first check

    links: defaultdict[str, set[str]] = defaultdict(set)
    for glyph, homoglyphs in confusables_data.items():
        for other in homoglyphs:  # each link is listed both ways; right-to-left text is wrapped in LRM marks
            a, b = glyph.replace("\u200e", ""), other["c"].replace("\u200e", "")
            links[a].add(b)
            links[b].add(a)
    # Each class is a star: its prototype linked to every source. A source has one link (sources are single
    # characters); so does a prototype with a single source, and then the lower of the two stands for both.
    table = {}
    for glyph, (other, *more) in links.items():
        if len(glyph) == 1 and not more and (len(other) > 1 or len(links[other]) > 1 or other < glyph):
            table[glyph] = other
    return table


def skeleton(text: str) -> str:
    """UTS #39's skeleton: two strings that look alike (Cyrillic 'а' for Latin 'a', 'rn' for 'm') share one."""
    table = _prototypes()
    visible = (c for c in unicodedata.normalize("NFD", text)
               if not any(low <= ord(c) <= high for low, high in IGNORABLE))
    mapped = "".join(table.get(c, c) for c in visible)
    # A prototype of several characters may hold the upper one of a pair, which the table writes as the lower one.
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in mapped))


def nickname_key(name: str) -> tuple[str, str]:
    """What two nicknames must not share on one board, either part: the skeleton of the name as typed (so 'lan'
    with a small L is 'Ian') and of its folded form (NFKC, case folded, spaces made one), so that 'Alice',
    ' ALICE ', the full-width 'ａｌｉｃｅ' and 'Аlice' with a Cyrillic А are one, while 'Ian' and 'LAN' differ."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return skeleton(" ".join(name.split())), skeleton(" ".join(folded.split()))


def nickname_refusal(session: Session, board_id: str, name: str, owner: str) -> str | None:
    """Why this tab may not submit under `name` (another tab's entry on the board shows it), or None."""
    others = session.scalars(select(EntryRow.nickname).where(
        (EntryRow.board == board_id) & ~EntryRow.removed & ~EntryRow.session.startswith(tag(board_id, owner))))
    typed, folded = nickname_key(name)
    if any(typed == theirs[0] or folded == theirs[1] for theirs in map(nickname_key, others)):
        return "That nickname is taken on this board: pick another."
    return None


def creation_refusal(session: Session, owner: str | None, address: str | None, moment: datetime) -> str | None:
    """Why this tab or address may not start another board at `moment`, or None when it may."""
    creator = BoardRow.settings[CREATOR_KEY].as_string()
    limits = ((owner, creator.startswith(tag(CREATOR_SALT, owner)), BOARDS_PER_HOUR, "This tab has"),
              (address, creator.endswith(tag(CREATOR_SALT, address)), ADDRESS_BOARDS_PER_HOUR,
               "Your network address has"))
    for who, theirs, cap, subject in limits:
        if not who:
            continue
        count, first = session.execute(select(func.count(BoardRow.id), func.min(BoardRow.created))
                                       .where(theirs & (BoardRow.created > moment - HOUR))).one()
        if count >= cap:
            minutes = max(1, math.ceil(_left(first, HOUR.total_seconds(), moment) / 60))
            return (f"{subject} started {count} boards in the last hour, the most it may: try again in "
                    f"{minutes} min.")
    return None


def prune(session: Session, moment: datetime) -> int:
    """Delete boards (and their entries) that have had no new entry for RETENTION_DAYS; the number deleted.

    Both deletes run even when nothing is stale: on SQLite the first write takes the database's write lock, so
    a creation's check-then-insert that follows cannot interleave with another's.
    """
    cutoff = moment - timedelta(days=RETENTION_DAYS)
    fresh = select(EntryRow.id).where((EntryRow.board == BoardRow.id) & (EntryRow.created >= cutoff))
    stale = select(BoardRow.id).where((BoardRow.created < cutoff) & ~fresh.correlate(BoardRow).exists())
    quiet = {"synchronize_session": False}
    session.execute(delete(EntryRow).where(EntryRow.board.in_(stale)), execution_options=quiet)
    return session.execute(delete(BoardRow).where(BoardRow.id.in_(stale)), execution_options=quiet).rowcount


def forget_creators(session: Session, moment: datetime) -> None:
    """Drop creator marks older than the hour the creation limit looks back over."""
    marked = BoardRow.settings[CREATOR_KEY].as_string().is_not(None) & (BoardRow.created <= moment - HOUR)
    for row in session.scalars(select(BoardRow).where(marked)):
        row.settings = {key: value for key, value in row.settings.items() if key != CREATOR_KEY}
