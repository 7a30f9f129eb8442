"""One-line fields refuse every line break and control character; multi-line ones keep CR, LF and
tab and refuse the rest; email addresses refuse what Django's validator lets through quoted."""

import pytest
from django import forms

from waitingroom.validators import EmailAddressField, MultiLineField, SingleLineField

REFUSED_EVERYWHERE = ["\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]
LINE_BREAKS = ["\r", "\n", "\r\n", "\t"]


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE + LINE_BREAKS)
def test_a_single_line_field_refuses_line_breaks_and_controls(char):
    with pytest.raises(forms.ValidationError):
        SingleLineField().clean(f"Ann{char}Bcc: x@example.com")


@pytest.mark.parametrize("char", REFUSED_EVERYWHERE)
def test_a_multi_line_field_refuses_controls(char):
    with pytest.raises(forms.ValidationError):
        MultiLineField().clean(f"first{char}second")


def test_a_multi_line_field_keeps_its_lines_and_tabs():
    assert MultiLineField().clean("first\r\n\tsecond\nthird") == "first\r\n\tsecond\nthird"


def test_ordinary_names_pass():
    assert SingleLineField().clean("  Zoë O'Brien-Núñez 李  ") == "Zoë O'Brien-Núñez 李"


@pytest.mark.parametrize("address", ['"a\x0bb"@example.com', '"a\x0cb"@example.com'])
def test_an_email_address_with_a_quoted_control_character_is_refused(address):
    forms.EmailField().clean(address)  # Django's own validator lets it through
    with pytest.raises(forms.ValidationError):
        EmailAddressField().clean(address)
