"""The shipped texts: size, alphabet, provenance notes and the errors of load_text."""

import re
from importlib.resources import files

import pytest

from mathnn import InputError
from mathnn.data import load_text, text_names

SOURCES = files("mathnn.data").joinpath("SOURCES.md").read_text(encoding="utf-8")


def test_default_text_is_a_small_ascii_corpus():
    text = load_text()
    assert isinstance(text, str)
    assert 5_000 <= len(text) <= 15_000
    assert text.isascii()
    assert text == load_text("default")
    assert text.startswith("IN CONGRESS, July 4, 1776.\n")
    assert text.endswith("a just and lasting peace among ourselves and with all nations.\n")


def test_default_vocabulary_is_small_and_printable():
    vocabulary = set(load_text())
    assert len(vocabulary) == 64
    # letters, digits, punctuation, space and newline only: no tabs, carriage returns or control characters
    assert all(char.isprintable() or char == "\n" for char in vocabulary)
    assert set("abcdefghijklmnopqrstuvwxyz") <= vocabulary
    assert "\r" not in vocabulary and "\t" not in vocabulary


def test_sources_state_the_size_and_vocabulary_of_each_text():
    for name in text_names():
        text = load_text(name)
        section = SOURCES.split(f"## `{name}.txt`", 1)
        assert len(section) == 2, f"SOURCES.md has no section for {name}.txt"
        found = re.search(r"\(([\d,]+) characters, ([\d,]+) words, (\d+) distinct characters\)", section[1])
        assert found, f"SOURCES.md does not give the size of {name}.txt"
        chars, words, distinct = (int(number.replace(",", "")) for number in found.groups())
        assert (chars, words, distinct) == (len(text), len(text.split()), len(set(text)))
        assert "public domain" in section[1]


def test_text_names_lists_the_shipped_files():
    assert text_names() == ("default",)


@pytest.mark.parametrize(
    ("name", "received"),
    [("shakespeare", "str 'shakespeare'"), ("../default", "str '../default'"), ("default.txt", "str 'default.txt'"),
     ("SOURCES", "str 'SOURCES'"), (None, "NoneType None")],
)
def test_unknown_names_are_refused_with_the_known_names(name, received):
    with pytest.raises(InputError) as error:
        load_text(name)
    assert str(error.value) == f"name: expected one of the shipped texts (default); received {received}"
