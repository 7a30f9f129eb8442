"""What a typed value may contain. Names, email addresses and other one-line values end up in email
headers, `.ics` properties and SMS: a line break there (CR, LF, or one of the Unicode line
separators some readers honour: \\x0b, \\x0c, U+0085, U+2028, U+2029) starts a header or property of
its own, and other control characters make the mail backend refuse the message forever. So every
form field refuses them at the door, with one message, through the fields below."""

from __future__ import annotations

import unicodedata

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError

# Multi-line text (notes, chat, summaries) keeps its line breaks and tabs, nothing else of Cc.
MULTI_LINE_ALLOWED = frozenset("\t\n\r")


def _refused(value: str, allowed: frozenset[str]) -> bool:
    # Cc: C0 and C1 controls (\x00-\x1f, \x7f-\x9f, so \x0b, \x0c and U+0085 too); Zl/Zp: U+2028, U+2029.
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") and char not in allowed for char in value)


def validate_single_line(value: str) -> None:
    if value and _refused(str(value), frozenset()):
        raise ValidationError("Line breaks and control characters are not allowed here.", code="control")


def validate_multi_line(value: str) -> None:
    if value and _refused(str(value), MULTI_LINE_ALLOWED):
        raise ValidationError("Control characters are not allowed here.", code="control")


class SingleLineField(forms.CharField):
    """A one-line text field: names, keys, short answers, a broadcast."""

    default_validators = [validate_single_line]


class MultiLineField(forms.CharField):
    """Free text over several lines (a Textarea): notes, chat, summaries."""

    widget = forms.Textarea
    default_validators = [validate_multi_line]


class EmailAddressField(forms.EmailField):
    """An email address: Django's validator accepts \\x0b and \\x0c inside a quoted local part
    ("a\\x0bb"@example.com), which would break the headers of every email sent to it."""

    default_validators = [*forms.EmailField.default_validators, validate_single_line]


# One rule for a phone number, wherever one is typed: the intake form's phone question and the SMS
# code's number (visits/phone_codes.py normalise_phone) refuse the same numbers with the same words,
# so a number taken at intake and offered for the code is never refused one step later.
PHONE_NOT_VALID = "Enter a valid phone number, with its area code."


def phone_number(raw: str, *, region: str) -> str:
    """E.164 for a number typed by a patient or client (the clinic's default country when it has
    no +country code), or ValidationError with PHONE_NOT_VALID (libphonenumber's plan of that
    country: "555-0123" lacks its area code, "+1 000 000 0000" is no number)."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationError(PHONE_NOT_VALID, code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(PHONE_NOT_VALID, code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneNumberValidator:
    """A form field's validator for phone_number in a clinic's country (empty values pass: the
    field's `required` decides)."""

    def __init__(self, region: str) -> None:
        self.region = region

    def __call__(self, value: str) -> None:
        if value:
            phone_number(str(value), region=self.region)
