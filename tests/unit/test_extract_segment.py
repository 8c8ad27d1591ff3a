"""Sentence segmentation: abbreviations, decimals, initials, quotes, headings, exact offsets."""

from __future__ import annotations

from ledger.extract.segment import segment
from tests.unit.extract_seed import load_seed


def texts(text: str) -> list[str]:
    return [unit.text for unit in segment(text)]


def test_offsets_are_exact_and_trimmed() -> None:
    text = "  First one.   Second one?\n\nThird!  "
    units = segment(text)
    assert [text[u.start : u.end] for u in units] == [u.text for u in units]
    assert texts(text) == ["First one.", "Second one?", "Third!"]


def test_titles_and_initials_do_not_end_sentences() -> None:
    text = "Mr. Smith met Dr. Jones. J. K. Rowling wrote it. Sen. Warren spoke."
    assert texts(text) == [
        "Mr. Smith met Dr. Jones.",
        "J. K. Rowling wrote it.",
        "Sen. Warren spoke.",
    ]


def test_dotted_acronym_ends_only_before_a_sentence_opener() -> None:
    text = "The U.S. economy grew. He moved to the U.S. The next day he left."
    assert texts(text) == [
        "The U.S. economy grew.",
        "He moved to the U.S.",
        "The next day he left.",
    ]


def test_decimals_and_numbers_stay_inside() -> None:
    assert texts("Growth was 3.5 percent. It was 1,000.5 tons.") == [
        "Growth was 3.5 percent.",
        "It was 1,000.5 tons.",
    ]


def test_quotes_close_sentences_and_lowercase_continues() -> None:
    text = 'He said, "We will win." Then he left. "Stop!" she shouted. Really?'
    assert texts(text) == [
        'He said, "We will win."',
        "Then he left.",
        '"Stop!" she shouted.',
        "Really?",
    ]


def test_headings_are_units_of_their_own() -> None:
    text = "Body one. Body two.\n\nA Short Heading\n\nNext paragraph here.\n\nHeading Line\nFirst body line."
    units = segment(text)
    assert [(u.text, u.heading) for u in units] == [
        ("Body one.", False),
        ("Body two.", False),
        ("A Short Heading", True),
        ("Next paragraph here.", False),
        ("Heading Line", True),
        ("First body line.", False),
    ]
    assert [u.paragraph for u in units] == [0, 0, 1, 2, 3, 3]


def test_long_unpunctuated_line_is_not_a_heading() -> None:
    line = "this line has far too many words to be a heading of any article we know of here"
    assert [u.heading for u in segment(line)] == [False]


def test_empty_and_blank_text() -> None:
    assert segment("") == []
    assert segment(" \n\n \n") == []


def test_seed_has_three_headings() -> None:
    text, _ = load_seed()
    headings = [u.text for u in segment(text) if u.heading]
    assert headings == [
        "Escalating Arms Trade Dynamics",
        "Seoul's Stance Amid Growing Concerns",
        "Global Repercussions and Diplomatic Tensions",
    ]
    assert len([u for u in segment(text) if not u.heading]) == 15


def test_headline_of_a_seed_format_article_is_its_own_heading() -> None:
    text = (
        "Nordwerk to cut 1,500 jobs in Germany as demand for heat pumps slumps, "
        "union says\n\nNordwerk will cut 1,500 jobs, the union said on Monday."
    )
    units = segment(text)
    assert [(u.heading, u.text) for u in units] == [
        (
            True,
            "Nordwerk to cut 1,500 jobs in Germany as demand for heat pumps slumps, union says",
        ),
        (False, "Nordwerk will cut 1,500 jobs, the union said on Monday."),
    ]


def test_headline_may_be_a_question_on_a_line_of_its_own() -> None:
    text = "Will the port reopen before winter?\nThe port has been closed for 40 days."
    assert [u.heading for u in segment(text)] == [True, False]


def test_a_first_paragraph_of_sentences_is_not_a_headline() -> None:
    text = "The port closed. It reopened on Monday?\n\nMore later."
    assert not any(u.heading for u in segment(text))
