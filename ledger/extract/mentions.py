"""Mentions of people and bodies in one sentence: names, titles, roles, affiliations, he/she."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ledger.extract.cues import MONTHS, REPORTING_FORMS, WEEKDAYS, wordset
from ledger.extract.features import part_of_speech
from ledger.extract.lexicon import penn_tags
from ledger.extract.model import SourceKind
from ledger.extract.places import country_of, country_of_demonym, is_place
from ledger.extract.roles import (
    HONORIFICS,
    ORGANIZATION_WORDS,
    ROLE_HEADS,
    TITLE_ABBREVIATIONS,
    TITLE_WORDS,
    name_kind,
    role_kind,
    role_text,
)


@dataclass(frozen=True, kw_only=True)
class Token:
    """A word, possessive "'s", number or punctuation mark with its offsets in the text."""

    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        """The token in lower case, curly apostrophes straightened."""
        return self.text.lower().replace("’", "'")


@dataclass(frozen=True, kw_only=True)
class Mention:
    """A phrase naming someone at ``text[start:end]``; any of its parts may be unknown."""

    start: int
    end: int
    name: str | None
    role: str | None
    affiliation: str | None
    pronoun: bool = False
    article: bool = False  # the name was written after "the" ("the Pentagon")
    kind: SourceKind | None = None  # a pronoun's kind is the kind it refers to ("it": a body)


_TOKEN = re.compile(
    r"[^\W\d_]+(?:-[^\W\d_]+)*(?:['’](?![sS]\b)[^\W\d_]+)*|['’][sS]\b|\d+(?:[.,]\d+)*|\S"
)
_DETERMINERS = frozenset({"the", "a", "an", "its", "his", "her", "their"})
_PRONOUNS: dict[str, SourceKind] = {
    "he": "person",
    "she": "person",
    "they": "person",
    "it": "organization",
}
_POSSESSIVE = frozenset({"'s", "'", "’"})  # "Maldives' foreign ministry"
_AFFILIATION_LINKS = frozenset({"of", "for", "at", "in"})
_DOCUMENT_LINKS = _AFFILIATION_LINKS | {"by", "from"}  # "a report by the agency"
# Capitalized words that open sentences or clauses but never start a name.
_NOT_NAMES = wordset(
    """the a an in on at while as this that these those it he she they we i you but and or
    if when after before since during according however meanwhile moreover yet so for of
    to with from by amid amidst although though because despite there here what who why
    how where which his her its their our my your also not no some many most all both each
    every such other another several further furthermore additionally nevertheless still
    then today yesterday jan feb mar apr jun jul aug sep sept oct nov dec"""
) | frozenset(MONTHS + WEEKDAYS)
# Words that end a role phrase: a verb or function word cannot modify "minister".
_VERBS = wordset("is are was were be been has have had will would could can may might must")
_NOT_MODIFIERS = _NOT_NAMES | _VERBS | frozenset(REPORTING_FORMS) | {"should", "do", "does", "did"}
# Modifiers a role may carry without a determiner ("senior officials said").
_KNOWN_MODIFIERS = wordset(
    """senior top local foreign defense defence military government state federal chief
    deputy vice prime finance health interior justice security intelligence police army
    party company union former acting regional provincial national city county official
    new latest preliminary internal classified confidential annual quarterly monthly weekly
    independent central statistics provisional final initial updated exit private public
    health electoral election press"""
)
_ROLE_OPENERS = _DETERMINERS | ROLE_HEADS | _KNOWN_MODIFIERS  # "Senior officials said"
_MAX_APPOSITIVE_TAIL = 10
_NAME_LINKS = frozenset({"of", "for"})
_MAX_NAME_TOKENS = 10
_MAX_MODIFIERS = 3


def tokenize(text: str, start: int, end: int) -> list[Token]:
    """Tokens of ``text[start:end]`` with absolute offsets."""
    return [
        Token(text=match.group(), start=match.start(), end=match.end())
        for match in _TOKEN.finditer(text, start, end)
    ]


# A wire dateline opening an article: "SEOUL, March 5 (Reuters) - ", "WASHINGTON (AP) — ",
# "AFP- ".
DATELINE = re.compile(
    r"[A-Z][A-Z.'’ -]*[A-Z.](?:,[^,\n–—-]{1,30})?(?:\s\([^)\n]{1,40}\))?\s?[-–—]+\s"
)


def find_mentions(text: str, start: int, end: int) -> list[Mention]:
    """Non-overlapping mentions in ``text[start:end]``, left to right; a dateline's place
    and agency are no one the article speaks of."""
    dateline = DATELINE.match(text, start, end)
    if dateline is not None:
        start = dateline.end()
    tokens = tokenize(text, start, end)
    finder = _Finder(text, tokens)
    mentions: list[Mention] = []
    index = 0
    while index < len(tokens):
        found = finder.at(index)
        if found is None:
            index += 1
            continue
        mention, index = found
        mentions.append(mention)
    return mentions


class _Finder:
    """Pattern matching over one sentence's tokens; each method returns (mention, next index)."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens

    def at(self, i: int) -> tuple[Mention, int] | None:
        """The longest mention starting at token ``i``, if any."""
        token = self.tokens[i]
        if token.lower in _PRONOUNS:
            return self._mention(i, i + 1, pronoun=True, kind=_PRONOUNS[token.lower]), i + 1
        if token.lower in _DETERMINERS and self._name_run(i + 1) > i + 1:
            if self._code_at(self._name_run(i + 1)):
                return None
            # "the Bank of Korea", "The Defense Minister": the capitalized words decide.
            mention, end = self._named(i + 1)
            return replace(mention, article=token.lower == "the" and mention.name is not None), end
        if (token.text[0].islower() or token.lower in _ROLE_OPENERS) and not (
            self._abbreviation_at(i) and self._name_run(i) > i + 2
        ):  # "Rep. Kang Dae-sik" is a title and a name, not the role "rep" alone
            found = self._role_only(i)
            if found is not None:
                return found
        if self._name_run(i) > i:
            if self._code_at(self._name_run(i)):
                return None
            if i == 0 and self._name_run(0) == 1 and _people_noun(token.lower):
                # "Pollsters said": a plural noun for people opening the sentence, no name
                return self._mention(0, 1, role=token.lower, kind="person"), 1
            return self._named(i)
        return None

    def _code_at(self, j: int) -> bool:
        """Whether a capitalized run ending before token ``j`` is a code glued to a number:
        "COVID-19", "F-35" name a disease or a product, not a body."""
        tokens = self.tokens
        return (
            j + 1 < len(tokens)
            and tokens[j].text == "-"
            and tokens[j].start == tokens[j - 1].end
            and tokens[j + 1].start == tokens[j].end
            and tokens[j + 1].text[0].isdigit()
        )

    def _role_only(self, i: int) -> tuple[Mention, int] | None:
        """Match "the defense minister", "a spokesman for the Pentagon", maybe then a name."""
        phrase = self._role_phrase(i)
        if phrase is None:
            return None
        role, affiliation, end = phrase
        name_end = self._name_run(end)
        _, name = self._split_title(end, name_end)
        head = self.tokens[end - 1]
        if end == i + 1 < name_end and head.text[0].isupper():
            # "Official Gazette", "Health Ministry": a name, not a role and name;
            # "Inspector Jane Roe of the police": a title and a name, read as a name
            return None
        if name_end > end and name is not None:
            # "military spokesman Major-General Waheed Arshad": the role phrase is the role;
            # an appositive after the name says more ("study author Jane Roe, a biologist
            # at the Zeta Institute,")
            found = self._appositive(i, name_end, name)
            if found is not None:
                mention, close = found
                return replace(mention, affiliation=mention.affiliation or affiliation), close
            return self._mention(
                i, name_end, name=name, role=role, affiliation=affiliation
            ), name_end
        titled = role.split()[-1] in TITLE_WORDS
        portfolio = _portfolio_then_name(affiliation) if titled else None
        if portfolio is not None:
            # "Minister of Health Jane Roe": the title's portfolio, then the name
            body, person = portfolio
            return self._mention(i, end, name=person, role=role, affiliation=body), end
        return self._named_after(i, end, role, affiliation) or (
            self._mention(i, end, role=role, affiliation=affiliation),
            end,
        )

    def _named_after(
        self, i: int, end: int, role: str, affiliation: str | None
    ) -> tuple[Mention, int] | None:
        """A description then its name in apposition: "a Britain-based monitor, the Syrian
        Observatory for Human Rights, said", "the watchdog, Press Freedom Now, said". The
        name must close the apposition (a comma, the verb or the end), and not be a place:
        "the ministry, Reuters and AP" is a list, "officials, Kyiv said" two clauses."""
        tokens = self.tokens
        if end + 1 >= len(tokens) or tokens[end].text != ",":
            return None
        if i and tokens[i - 1].text not in _APPOSITION_OPENERS:
            return None  # "cuts at the ministry, the Pentagon said": the ministry is content
        start = end + 2 if tokens[end + 1].lower == "the" else end + 1
        run_end = self._name_run(start)
        title, name = self._split_title(start, run_end)
        if run_end == start or title or name is None or is_place(name):
            return None
        following = tokens[run_end] if run_end < len(tokens) else None
        closes = following is None or following.text in ",." or following.lower in REPORTING_FORMS
        if not closes:
            return None
        kind = role_kind(role)
        if kind not in ("person", "organization") or kind != (name_kind(name) or kind):
            return None  # "the survey, the Bureau said", "the spokesman, Pentagon said"
        mention = self._mention(i, run_end, name=name, role=role, affiliation=affiliation)
        return replace(mention, article=start == end + 2), run_end  # "the Syrian Observatory"

    def _named(self, i: int) -> tuple[Mention, int]:
        """A capitalized run, with its title split off, then a possessive or appositive role."""
        run_end = self._name_run(i)
        title, name = self._split_title(i, run_end)
        affiliation, title = _peel_affiliation(title)
        role = role_text(title) if title else None
        person = self._person_after_body(i, run_end) if not title else None
        if person is not None:
            # "Elections Commission Jane Roe": the body, then the person who speaks for it
            affiliation, name = self._span_text(i, person), self._span_text(person, run_end)
        elif title and name is None:
            found = self._title_of_body(i, run_end, role)
            if found is not None:
                return found
        if run_end < len(self.tokens) and self.tokens[run_end].lower in _POSSESSIVE:
            found = self._possessive_role(i, run_end)
            if found is not None:
                return found
        if name is not None and role is None:
            found = self._attributive(i, run_end) or self._appositive(i, run_end, name)
            if found is not None:
                return found
        elif name is not None:
            # "Major-General Waheed Arshad, the military spokesman,": the apposition says more
            found = self._appositive(i, run_end, name)
            if found is not None:
                return found
        mention = self._mention(i, run_end, name=name, role=role, affiliation=affiliation)
        return mention, run_end

    def _person_after_body(self, i: int, j: int) -> int | None:
        """Where a person's name starts in a run that names a body first: the run's last
        organisation word, then two to four plain name words ("Police Division Jane Roe");
        none when a link word, place, acronym or another body word follows the body word."""
        tokens = self.tokens
        last = max((k for k in range(i, j) if tokens[k].lower in ORGANIZATION_WORDS), default=-1)
        tail = tokens[last + 1 : j]
        if last < i or not 2 <= len(tail) <= 4:
            return None
        for token in tail:
            if not token.text[:1].isupper() or not token.text.replace("-", "").isalpha():
                return None
            if _is_acronym(token.text) or is_place(token.text) or token.lower in TITLE_WORDS:
                return None
        if is_place(" ".join(token.text for token in tail)):
            return None
        return last + 1

    def _title_of_body(self, i: int, j: int, role: str | None) -> tuple[Mention, int] | None:
        """ "Chairman of the Elections Commission Jane Roe": a title, its body, then the name."""
        tokens = self.tokens
        if role is None or j + 1 >= len(tokens) or tokens[j].lower not in _NAME_LINKS:
            return None
        start = j + 2 if tokens[j + 1].lower == "the" else j + 1
        run_end = self._name_run(start)
        if run_end < len(tokens) and tokens[run_end].lower in _POSSESSIVE:
            # "of Ruritania's Election Board"
            start = run_end + 1
            run_end = self._name_run(start)
        person = self._person_after_body(start, run_end)
        if person is not None:
            affiliation = self._span_text(start, person)
            name = self._span_text(person, run_end)
            return self._mention(i, run_end, name=name, role=role, affiliation=affiliation), run_end
        # "of the Election Board (REB) Jane Roe": the body's name closed by its acronym
        after = run_end + 3
        acronym = (
            run_end > start
            and after < len(tokens)
            and [t.text for t in tokens[run_end:after:2]] == ["(", ")"]
            and _is_acronym(tokens[run_end + 1].text)
        )
        if not acronym or not any(t.lower in ORGANIZATION_WORDS for t in tokens[start:run_end]):
            return None
        name_end = self._name_run(after)
        _, person_name = self._split_title(after, name_end)
        if person_name is None or not 2 <= name_end - after <= 4:
            return None
        body = self._span_text(start, run_end)
        mention = self._mention(i, name_end, name=person_name, role=role, affiliation=body)
        return mention, name_end

    def _attributive(self, i: int, run_end: int) -> tuple[Mention, int] | None:
        """Match "Pentagon spokesman John Kirby", "South Korean officials", "a DIA report"."""
        tokens = self.tokens
        if run_end >= len(tokens) or not tokens[run_end].text[0].islower():
            return None
        determined = i > 0 and tokens[i - 1].lower in _DETERMINERS  # "an EU observation project"
        head = self._role_head(run_end, free=determined)
        if head is None:
            return None
        run = self._span_text(i, run_end)
        affiliation: str | None = country_of_demonym(run) or country_of(run) or run
        if _DESCRIPTIVE.search(run):
            affiliation = None  # "the California-headquartered company" is any company
        modifier = i == 0 and run_end == 1 and tokens[0].lower.endswith("ed")
        if modifier and affiliation == run:
            # "Informed sources said": a sentence's first word, an adjective, not a body
            whole = self._role_head(0, free=True)
            if whole is not None:
                described = role_text([token.text for token in tokens[: whole + 1]])
                return self._mention(0, whole + 1, role=described), whole + 1
        role = role_text([token.text for token in tokens[run_end : head + 1]])
        end = head + 1
        if affiliation == run and tokens[head].lower in _NAMED_BODY_HEADS:
            # "the Acme Liberation group": the body's name is the capitalized run
            body = _without_creed(run)
            if not is_place(body):
                return self._mention(i, end, name=body, role=role, kind="organization"), end
        if role_kind(role) == "document":
            linked, end = self._linked_affiliation(end, links=_DOCUMENT_LINKS)
            affiliation = linked or affiliation
        name_end = self._name_run(end)
        _, name = self._split_title(end, name_end)
        if name_end > end and name is not None:
            end = name_end  # "police spokesman Major Jane Roe": the rank is no more news
        else:
            name = None
        if name is None:
            start = i - 1 if determined else i  # ", a Britain-based monitor, the Syrian …"
            named = self._named_after(start, end, role, affiliation)
            if named is not None:
                return replace(named[0], start=self.tokens[i].start), named[1]
        return self._mention(i, end, name=name, role=role, affiliation=affiliation), end

    def _possessive_role(self, i: int, run_end: int) -> tuple[Mention, int] | None:
        """Match "South Korea's defense minister [Name]" or "...'s Defense Minister Name"."""
        affiliation = self._span_text(i, run_end)
        phrase = self._role_phrase(run_end + 1, allow_affiliation=False)
        head = run_end + 1
        named_body = (
            phrase is not None
            and self.tokens[head].text[0].isupper()
            and phrase[1] is not None
            and role_kind(phrase[0]) == "organization"
        )
        if phrase is not None and named_body:
            # "the governor's Office of Emergency Services": a body's name
            body = self._span_text(head, phrase[2])
            return self._mention(i, phrase[2], name=body, affiliation=affiliation), phrase[2]
        if phrase is not None:
            role, _, end = phrase
            name_end = self._name_run(end)
            title, name = self._split_title(end, name_end)
            if name_end > end and not title and name is not None:
                end = name_end
            else:
                name = None
            return self._mention(i, end, name=name, role=role, affiliation=affiliation), end
        title_end = self._name_run(run_end + 1)
        title, name = self._split_title(run_end + 1, title_end)
        if not title and name is not None:
            # "the EU's Copernicus Climate Change Service", "Elon Musk's SpaceX company"
            end = title_end
            if end < len(self.tokens) and role_kind(self.tokens[end].lower) == "organization":
                end += 1
            kind: SourceKind | None = "organization" if end > title_end else None
            # "SpaceX company": "the company" may later refer to it
            body_role = self.tokens[title_end].lower if end > title_end else None
            mention = self._mention(
                i, end, name=name, role=body_role, affiliation=affiliation, kind=kind
            )
            return mention, end
        if not title:
            return None
        mention = self._mention(
            i, title_end, name=name, role=role_text(title), affiliation=affiliation
        )
        return mention, title_end

    def _appositive(self, i: int, run_end: int, name: str) -> tuple[Mention, int] | None:
        """Match "Shin Won-shik, South Korea's defense minister," (closing comma left out)."""
        if run_end >= len(self.tokens) or self.tokens[run_end].text != ",":
            return None
        phrase = self._role_phrase(run_end + 1) or self._title_case_role(run_end + 1)
        if phrase is None:
            k = run_end + 1
            if k < len(self.tokens) and self.tokens[k].lower in _DETERMINERS:
                k += 1  # ", a London-based think tank,"
            found = self._attributive(k, self._name_run(k))
            if found is None or found[0].name is not None:
                return None
            phrase = (
                found[0].role or "",
                found[0].affiliation,
                found[1],
            )  # "Lubbock city spokesperson"
        role, affiliation, end = phrase
        close = self._appositive_end(end)
        if close is None:
            return None
        if affiliation is None:
            affiliation = self._affiliation_within(end, close)
        return self._mention(i, close, name=name, role=role, affiliation=affiliation), close

    def _title_case_role(self, i: int) -> tuple[str, str | None, int] | None:
        """A role written in title case after a name: ", the Ebola Incident Commander,"."""
        tokens = self.tokens
        start = i + 1 if i < len(tokens) and tokens[i].lower in _DETERMINERS else i
        run_end = self._name_run(start)
        title, name = self._split_title(start, run_end)
        if not title or name is not None:
            return None
        affiliation, title = _peel_affiliation(title)
        return role_text(title), affiliation, run_end

    def _appositive_end(self, end: int) -> int | None:
        """The comma or stop closing an appositive within a few words ("an expert on X,")."""
        tokens = self.tokens
        for k in range(end, min(end + _MAX_APPOSITIVE_TAIL, len(tokens))):
            if tokens[k].text in ",.;":
                return k
            if tokens[k].lower in REPORTING_FORMS:
                return None
        return len(tokens) if len(tokens) - end < _MAX_APPOSITIVE_TAIL else None

    def _affiliation_within(self, start: int, end: int) -> str | None:
        """The first "at/of/for Name" inside an appositive's tail."""
        for k in range(start, end):
            if self.tokens[k].lower in _AFFILIATION_LINKS:
                affiliation, _ = self._linked_affiliation(k)
                if affiliation is not None:
                    return affiliation
        return None

    def _role_phrase(
        self, i: int, *, allow_affiliation: bool = True
    ) -> tuple[str, str | None, int] | None:
        """Parse [determiner] [Affiliation's] modifiers* head [of|for|at [the] Affiliation]."""
        tokens = self.tokens
        j = i + 1 if i < len(tokens) and tokens[i].lower in _DETERMINERS else i
        affiliation = None
        run_end = self._name_run(j)
        possessive = j < run_end < len(tokens) and tokens[run_end].lower in _POSSESSIVE
        if allow_affiliation and possessive:
            affiliation, j = self._span_text(j, run_end), run_end + 1
        # Only a determiner or possessive shows that free words before the head form a noun
        # phrase; otherwise "took office" would be a role.
        head = self._role_head(j, free=j != i or not allow_affiliation)
        if head is None:
            return None
        role = role_text([token.text for token in tokens[j : head + 1]])
        end = head + 1
        if affiliation is None:
            links = _DOCUMENT_LINKS if role_kind(role) == "document" else _AFFILIATION_LINKS
            affiliation, end = self._linked_affiliation(end, links=links)
        return role, affiliation, end

    def _role_head(self, j: int, *, free: bool) -> int | None:
        """Index of the last role noun among the next few words; ``free`` allows any modifier."""
        head = None
        for k in range(j, min(j + _MAX_MODIFIERS + 1, len(self.tokens))):
            token = self.tokens[k]
            if not token.text[0].isalpha() or (
                token.lower in _NOT_MODIFIERS and not self._document_subject(k)
            ):
                break
            if token.lower in ROLE_HEADS and (token.text[0].islower() or k == j):
                head = k
            elif token.lower not in _KNOWN_MODIFIERS and (not free or token.text[0].isupper()):
                if not free and self._speaking_role_after(k):
                    continue  # "transport experts said": a modifier the verb vouches for
                break  # "took office" is no role; "SpaceX company" is a name, not a role
        return head

    def _speaking_role_after(self, k: int) -> bool:
        """Whether lower-case word ``k`` is followed by a role head and a reporting verb."""
        tokens = self.tokens
        if k + 2 >= len(tokens) or not tokens[k].text.isalpha() or not tokens[k].text.islower():
            return False
        head, verb = tokens[k + 1], tokens[k + 2]
        return head.lower in ROLE_HEADS and head.text.islower() and verb.lower in REPORTING_FORMS

    def _document_subject(self, k: int) -> bool:
        """A document noun that is also a verb form, before a verb: "estimates showed"."""
        tokens = self.tokens
        following = tokens[k + 1].lower if k + 1 < len(tokens) else ""
        estimate = following == "put"  # "estimates put the toll at"
        return role_kind(tokens[k].lower) == "document" and (
            following in REPORTING_FORMS or estimate
        )

    def _linked_affiliation(
        self, end: int, *, links: frozenset[str] = _AFFILIATION_LINKS
    ) -> tuple[str | None, int]:
        """The affiliation after a role: "... of South Korea", "... for the Pentagon"."""
        tokens = self.tokens
        if (
            end + 1 < len(tokens)
            and tokens[end].lower == "based"
            and tokens[end + 1].lower in links
        ):
            end += 1  # "a security official based in Miranshah"
        if end >= len(tokens) or tokens[end].lower not in links:
            return None, end
        start = end + 1
        if start < len(tokens) and tokens[start].lower == "the":
            start += 1
            adjective = start + 1 < len(tokens) and tokens[start].text.islower()
            if adjective and _is_name_word(tokens[start + 1]):  # "in the besieged Gaza Strip"
                start += 1
        elif start + 1 < len(tokens) and tokens[start].lower in _COMPASS_WORDS:
            start += 1  # "officials in eastern Libya"
        run_end = self._name_run(start)
        if run_end == start and links is _DOCUMENT_LINKS:
            # "data from the statistics agency": a body named by its role
            head = self._role_head(start, free=True)
            if head is not None and role_kind(self.tokens[head].lower) == "organization":
                return self._span_text(start, self._owner_end(head + 1)), self._owner_end(head + 1)
        if run_end == start:
            return None, end
        if run_end < len(tokens) and tokens[run_end].text in _PLACE_NOUNS:
            run_end += 1  # "the ministry in the besieged Ruritanian territory"
        return self._span_text(start, run_end), run_end

    def _owner_end(self, k: int) -> int:
        """End of "of [the] Name" after a body named by its role: "the office of Rep. Kang
        Dae-sik" is Kang's office, not any office; ``k`` when no name follows."""
        tokens = self.tokens
        if k + 1 >= len(tokens) or tokens[k].lower not in _NAME_LINKS:
            return k
        start = k + 2 if tokens[k + 1].lower == "the" else k + 1
        run_end = self._name_run(start)
        return run_end if run_end > start else k

    def _name_run(self, i: int) -> int:
        """End of the run of capitalized name words (titles, initials included) from ``i``."""
        tokens = self.tokens
        j = i
        while j < len(tokens) and j - i < _MAX_NAME_TOKENS:
            token = tokens[j]
            if self._abbreviation_at(j):
                j += 2
            elif _is_name_word(token):
                j += 1
            elif j > i and _is_particle(token) and j + 1 < len(tokens):
                if not _is_name_word(tokens[j + 1]):
                    break
                j += 1  # "Abdel Fattah el-Sisi", "Ursula von der Leyen"
            elif j > i and _PARTICLE_PREFIX.match(token.text):
                j += 1
            elif self._name_link_at(i, j) or self._and_link_at(i, j):
                j += 2
            else:
                break
        return j

    def _name_link_at(self, i: int, j: int) -> bool:
        """True for "of" inside an institution's name ("Bank of Korea"), not after a title."""
        tokens = self.tokens
        if j == i or j + 1 >= len(tokens) or tokens[j].text not in _NAME_LINKS:
            return False
        if not _is_name_word(tokens[j + 1]):
            return False
        if any(t.lower in TITLE_WORDS for t in tokens[i:j]):
            # "Minister of Health" is a title; "Directorate General of Health Services",
            # a body word on both sides, a body's name
            k = j + 1
            while k < len(tokens) and _is_name_word(tokens[k]):
                k += 1
            return any(t.lower in ORGANIZATION_WORDS for t in tokens[i:j]) and any(
                t.lower in ORGANIZATION_WORDS for t in tokens[j + 1 : k]
            )
        return True

    def _and_link_at(self, i: int, j: int) -> bool:
        """True for "and" inside a body's name ("Centers for Disease Control and Prevention")."""
        tokens = self.tokens
        if j == i or j + 1 >= len(tokens) or tokens[j].text not in ("and", "&"):
            return False
        if not _is_name_word(tokens[j + 1]):
            return False
        words = {t.lower for t in tokens[i : min(j + 4, len(tokens))]}
        return bool(words & ORGANIZATION_WORDS)

    def _abbreviation_at(self, j: int) -> bool:
        """True at "Sen.", "Mr.", "J.": a capitalized abbreviation glued to its period."""
        tokens = self.tokens
        if (
            j + 1 >= len(tokens)
            or tokens[j + 1].text != "."
            or tokens[j + 1].start != tokens[j].end
        ):
            return False
        word = tokens[j].text
        known = word.lower() in TITLE_ABBREVIATIONS or word.lower() in HONORIFICS
        return word[0].isupper() and (known or (len(word) == 1 and word.isalpha()))

    def _split_title(self, i: int, j: int) -> tuple[list[str], str | None]:
        """Split a capitalized run into its title words and the name after them."""
        tokens = self.tokens
        last_title = -1
        role_end = -1  # the last title word that says what the person does
        for k in range(i, j):
            word = tokens[k].lower
            hyphenated = "-" in word and word.rsplit("-", 1)[1] in TITLE_WORDS  # "Major-General"
            if (
                word in TITLE_WORDS
                or hyphenated
                or (word in TITLE_ABBREVIATIONS and self._abbreviation_at(k))
            ):
                last_title = role_end = k
            elif word in HONORIFICS and (self._abbreviation_at(k) or k + 1 < j):
                last_title = k  # "Dr. Kyobe", British "Dr Kyobe", "Health Minister Dr. Kyobe"
        if last_title >= 0 and any(
            t.lower in ORGANIZATION_WORDS for t in tokens[last_title + 1 : j]
        ):
            last_title = role_end = -1  # "Directorate General of Health Services": a body
        name_start = last_title + 1 if last_title >= 0 else i
        if name_start < j and tokens[name_start].text == ".":
            name_start += 1
        name = self._span_text(name_start, j) if name_start < j else None
        if role_end < 0:
            return [], name
        title = [t.text for t in tokens[i : role_end + 1] if t.text != "."]
        return title, name

    def _span_text(self, i: int, j: int) -> str:
        """The text from token ``i`` to the end of token ``j - 1``, verbatim."""
        return self.text[self.tokens[i].start : self.tokens[j - 1].end]

    def _mention(
        self,
        i: int,
        j: int,
        *,
        name: str | None = None,
        role: str | None = None,
        affiliation: str | None = None,
        pronoun: bool = False,
        kind: SourceKind | None = None,
    ) -> Mention:
        """Build a mention spanning tokens ``i`` to ``j - 1``."""
        if kind is None:
            kind = _kind(self.tokens[i:j], name, role)
        return Mention(
            start=self.tokens[i].start,
            end=self.tokens[j - 1].end,
            name=name,
            role=role,
            affiliation=affiliation,
            pronoun=pronoun,
            kind=kind,
        )


def bodies_by_usage(mentions: list[Mention]) -> list[Mention]:
    """The article's mentions, where a name of plain words read as a person's ("Cal Fire")
    is used as a body's name is: repeated in full and never cut to its last word, as a
    person is after the first mention ("Roe said"), never given a role, and ending in a
    word the lexicon reads in lower case as a common noun ("Fire", not "Roe")."""
    full: dict[str, int] = {}
    single: set[str] = set()  # one-word names: "Roe", "Fire"
    titled: set[str] = set()  # "Jane Roe" given a role somewhere
    for mention in mentions:
        if mention.name is None or mention.pronoun:
            continue
        if " " not in mention.name:
            single.add(mention.name)
        elif mention.role is not None or mention.kind != "person":
            titled.add(mention.name)
        else:
            full[mention.name] = full.get(mention.name, 0) + 1
    common = penn_tags()
    bodies = {
        name
        for name, count in full.items()
        if count > 1
        and name not in titled
        and name.split()[-1] not in single
        and common.get(name.split()[-1].lower()) in _COMMON_NOUN_TAGS
    }
    return [
        replace(mention, kind="organization") if mention.name in bodies else mention
        for mention in mentions
    ]


_COMMON_NOUN_TAGS = frozenset({"NN", "NNS"})


def _kind(tokens: list[Token], name: str | None, role: str | None) -> SourceKind | None:
    """A mention's kind: from its role's head noun, else from its name and honorific."""
    if role is not None:
        kind = role_kind(role)
        if kind is not None:
            return kind
    if any(token.lower in HONORIFICS for token in tokens):
        return "person"
    if name is not None:
        return name_kind(name) or ("person" if role is not None else None)
    return None


def _peel_affiliation(title: list[str]) -> tuple[str | None, list[str]]:
    """Split a leading country or demonym off a title: "South Korean Defense Minister"; or
    a body: an acronym ("NASA Launch Manager") or a name of two or more words ending in an
    organisation word ("State Department Spokesman", "Elections Commission Chairman")."""
    for size in (2, 1):
        if len(title) > size:
            words = " ".join(title[:size])
            country = country_of_demonym(words) or country_of(words)
            if country is not None:
                return country, title[size:]
    if len(title) > 1 and _is_acronym(title[0]):
        return title[0], title[1:]
    for size in range(2, len(title)):
        if title[size - 1].lower() in ORGANIZATION_WORDS:
            return " ".join(title[:size]), title[size:]
    return None, title


def _portfolio_then_name(run: str | None) -> tuple[str, str] | None:
    """Split "Health Jane Roe" (after "Minister of") into the portfolio, common nouns in
    the English lexicon or a place, and the name of two to four words that follows it."""
    words = (run or "").split()
    tags = part_of_speech()
    # the portfolio's words as the lexicon reads them in lower case ("State" and "Affairs"
    # are common nouns there, "Foreign" an adjective): "Foreign Affairs", ending in a noun
    common = penn_tags()
    longest = 0
    while longest < len(words) and (common.get(words[longest].lower()) in _PORTFOLIO_TAGS):
        longest += 1
    # "Governor of New Amsterdam Jane Roe": a place for a portfolio comes first
    cuts = [size for size in (3, 2, 1) if is_place(" ".join(words[:size]))][:1]
    cuts += [cut for cut in range(longest, 0, -1) if common.get(words[cut - 1].lower()) != "JJ"]
    for cut in cuts:  # the longest portfolio that leaves a name
        rest = words[cut:]
        if not 2 <= len(rest) <= 4 or tags.get(rest[0].lower()) in _COMMON_TAGS:
            continue
        if all(word[:1].isupper() and word.replace("-", "").isalpha() for word in rest):
            return " ".join(words[:cut]), " ".join(rest)
    return None


_PORTFOLIO_TAGS = frozenset({"NN", "NNS", "JJ"})


_COMMON_TAGS = frozenset({"NN", "NNS", "JJ", "VB", "VBD", "VBN", "VBG", "VBZ", "RB", "IN"})
_PEOPLE_SUFFIXES = ("ers", "ors", "ists", "ants", "ents")


def _people_noun(word: str) -> bool:
    """A plural common noun for people doing something ("pollsters", "organizers",
    "epidemiologists"): tagged NNS in the English lexicon, with an agent suffix."""
    return word.endswith(_PEOPLE_SUFFIXES) and part_of_speech().get(word) == "NNS"


def _without_creed(run: str) -> str:
    """A body's name without a trailing creed adjective: "Acme Islamist" -> "Acme"."""
    words = run.split()
    while len(words) > 1 and words[-1].endswith("ist"):
        words.pop()
    return " ".join(words)


def _is_acronym(word: str) -> bool:
    """ "NASA", "YSK": two or more capital letters."""
    return len(word) > 1 and word.isalpha() and word.isupper()


# Heads that describe a body named by the capitalized words before them ("the Acme
# militant group", "the Zeta party"); "the Interior ministry" names a function instead.
_NAMED_BODY_HEADS = wordset(
    "group party company firm movement militia faction organization organisation"
)
# Lower-case nouns that end a place named by an adjective ("the Ruritanian territory").
_PLACE_NOUNS = wordset("territory territories region province state city capital country enclave")
_COMPASS_WORDS = wordset(
    "eastern western northern southern central northeastern northwestern southeastern southwestern"
)
# What may come right before a description that its name follows in apposition.
_APPOSITION_OPENERS = frozenset({",", "to", "by", "—", "–", "(", ":"})
_DESCRIPTIVE = re.compile(r"-(?:based|headquartered|owned|run|led|backed|funded|born)$")
_PARTICLES = frozenset(
    {
        "bin",
        "ibn",
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "du",
        "dos",
        "al",
        "el",
        "la",
        "le",
        "ben",
    }
)
_PARTICLE_PREFIX = re.compile(r"(?:al|el|ad|as|ash|an|ar|at|az)-[A-Z]")


def _is_particle(token: Token) -> bool:
    """A lower-case word inside a name: "bin", "von", "de"."""
    return token.text in _PARTICLES


def _is_name_word(token: Token) -> bool:
    """A capitalized word that can be part of a name."""
    first = token.text[0]
    if len(token.text) > 1 and token.text.isupper() and token.text.isalpha():
        return True  # an acronym, even one that spells a word ("WHO", "US")
    return first.isupper() and first.isalpha() and token.lower not in _NOT_NAMES
