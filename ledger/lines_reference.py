"""Claim lines the plain way: ``group`` as it was before issue 15 (session 9), kept as the
reference that ``ledger.lines.group`` (indexed, resumable) is tested equal to, line for line
and point for point. Every figure is ranked against every line that shares a (unit, word)
key with it, each rank walking the line's figures: quadratic in the figures of a common
unit. Not used by the ledger; see ``tests/property/test_lines_fast_equals_reference.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.lines import (
    _CONTEXT_CLAIMS,
    _FAR,
    SPAN_DAYS,
    Line,
    LineClaim,
    Point,
    Subject,
    _common_name,
    _compared,
    _continued,
    _countries_in,
    _dated,
    _days_apart,
    _index_words,
    _known_place,
    _label,
    _name_words,
    _names_in,
    _near,
    _other_years,
    _point,
    _same_countries,
    _same_figure,
    _same_scope,
    _share_place,
    _when,
    anchored,
    compatible,
    subject_of,
)


def group(claims: Sequence[LineClaim]) -> list[Line]:
    """Lines of the figures of ``claims`` (in log order). Each figure joins the line that
    fits it best (``_Growing.accepts``; of equals, the one sharing most of its words, then
    the one its source added to last, then the earliest), else starts a line; a line never
    splits or merges later, so appending claims keeps every line id."""
    lines: list[_Growing] = []
    by_word: dict[tuple[str, str], list[int]] = {}  # (unit, word) -> lines holding it
    order = 0
    recent: dict[str, list[str]] = {}  # source -> its claims' texts so far
    named: dict[str, frozenset[str]] = {}  # source -> the countries its claims named so far
    proper: dict[str, frozenset[str]] = {}  # source -> the names its claims used so far
    before: dict[str, list[Subject]] = {}  # source -> the subjects of its previous claim
    for claim in claims:
        earlier = recent.setdefault(claim.source, [])
        context = " ".join(earlier[-_CONTEXT_CLAIMS:])
        earlier.append(claim.text)
        previous, before[claim.source] = before.get(claim.source, []), []
        named[claim.source] = named.get(claim.source, frozenset()) | _countries_in(
            claim.text, _name_words(claim.claimant_name)
        )
        proper[claim.source] = (
            proper.get(claim.source, frozenset()) | _names_in(claim.text) | named[claim.source]
        )
        for index, quantity in enumerate(claim.quantities):
            subject = subject_of(claim, quantity, context)
            if subject is None:
                continue
            subject = _continued(claim, quantity, subject, previous)
            subject = _compared(claim, quantity, subject, before[claim.source])
            before[claim.source].append(subject)
            point = _point(claim, index, quantity, order)
            order += 1
            keys = [(subject.measured, w) for w in sorted(_index_words(subject))]
            candidates = sorted({i for key in keys for i in by_word.get(key, ())})
            ranks = [(lines[i].accepts(subject, point, named, proper), i) for i in candidates]
            best = max((rank for rank, _ in ranks), default=0)
            tied = [i for rank, i in ranks if rank == best] if best else []
            # Of lines that fit as well: the one sharing most words, then (for lines that
            # fit by time only) the one with a figure nearest in time, then the one the
            # same source added to last (a sentence goes on about the figure before it),
            # then the earliest.
            home = (
                min(
                    tied,
                    key=lambda i: (
                        -lines[i].shared(subject),
                        lines[i].days_from(point) if best == 1 else 0,
                        -lines[i].last_in(claim.source),
                        i,
                    ),
                )
                if tied
                else None
            )
            if home is None:
                home = len(lines)
                lines.append(_Growing(subjects=[], points=[], label=_label(claim, quantity)))
            lines[home].subjects.append(subject)
            lines[home].points.append(point)
            for key in keys:
                held = by_word.setdefault(key, [])
                if not held or held[-1] != home:
                    held.append(home)
    return [
        Line(
            id=grown.points[0].id,
            subject=grown.subjects[0],
            label=grown.label,
            points=tuple(sorted(grown.points, key=_when)),
        )
        for grown in lines
    ]


@dataclass
class _Growing:
    subjects: list[Subject]
    points: list[Point]
    label: str

    def accepts(
        self,
        subject: Subject,
        point: Point,
        countries: dict[str, frozenset[str]],
        names: dict[str, frozenset[str]],
    ) -> int:
        """How well a figure fits: 2 if compatible with one of the line's figures and naming
        a common entity, 1 if compatible with one made within ``NEAR_DAYS`` of it, else 0;
        0 too for a line of another period, one none of whose figures was made or published
        within ``SPAN_DAYS`` of it, or (for a figure naming places) one at least half of
        whose figures name other places or areas. A figure is never compatible with a
        figure of a source that named only other countries than its own source
        (``countries``: source -> the countries its claims named so far, this one's
        included); nor, without a common entity in the two figures' clauses, with one
        whose source used none of the names its own source used (``names``: source -> the
        names its claims used so far). Ties: see ``group``."""
        rank = 0
        dated = [p for p in self.points if _dated(p)]
        if _dated(point) and dated and not any(_near(p, point, SPAN_DAYS) for p in dated):
            return 0  # years apart: "Labor won 77 seats" in 2022 is no point of a 2024 line
        if subject.period and any(
            s.period and not s.period & subject.period for s in self.subjects
        ):
            return 0  # a line is one period's figure: January's and December's are two lines
        if all(
            _other_years(subject, point, s, p)
            for s, p in zip(self.subjects, self.points, strict=True)
        ):
            return 0  # "they won just 156 seats" in 1906 is no point of a 2024 line
        if any(_known_place(place) for place in subject.places):
            elsewhere = sum(
                bool(s.places) and not (_share_place(s, subject) and _same_scope(s, subject))
                for s in self.subjects
            )
            if 2 * elsewhere >= len(self.subjects):
                return 0  # half the line's figures are about another place
        mine, used = countries[point.source], names[point.source]
        # The sources already on the line report one event: a name shared with any of them
        # says the figure's source reports it too.
        on_line = any(used & names[source] for source in self.sources)
        for s, p in zip(self.subjects, self.points, strict=True):
            if not _same_countries(countries[p.source], mine):
                continue  # one source is about Libya, the other about Morocco
            if compatible(s, subject, same_figure=_same_figure(p, point)):
                if anchored(s, subject):
                    return 2
                if _near(p, point) and (on_line or _common_name(names[p.source], used)):
                    rank = 1  # near in time, and the sources name a common thing
        return rank

    @property
    def sources(self) -> set[str]:
        return {p.source for p in self.points}

    def days_from(self, point: Point) -> int:
        """Days between the figure and the line's figure nearest it in time (made or
        published); a large number when either is undated."""
        return min((_days_apart(p, point) for p in self.points), default=_FAR)

    def last_in(self, source: str) -> int:
        """The log order of the line's last figure from ``source`` (-1: none)."""
        return max((p.order for p in self.points if p.source == source), default=-1)

    def shared(self, subject: Subject) -> int:
        """How many of the figure's words and things the line's figures say too."""
        mine = subject.words | subject.thing
        return len(mine & {w for s in self.subjects for w in s.words | s.thing})
