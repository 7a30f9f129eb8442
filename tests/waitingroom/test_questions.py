"""The shared question builder (waitingroom/questions.py) on its own: each kind of question becomes
its form field, and the answers come back by key. The intake and pre-request pages that use it
are tested in tests/visits/ and tests/scheduling/requests/."""

from datetime import date
from types import SimpleNamespace

import pytest
from django import forms

from waitingroom.questions import Question, QuestionsMixin, field_for
from waitingroom.validators import EmailAddressField, SingleLineField


def question(kind: str, key: str = "q", *, required: bool = False, options=()):
    # Any object with a question's attributes will do: each form has its own concrete table.
    return SimpleNamespace(label=key.title(), key=key, kind=kind, required=required, options=list(options))


@pytest.mark.parametrize(
    ("kind", "field_class"),
    [
        (Question.Kind.TEXT, SingleLineField),
        (Question.Kind.CHOICE, forms.ChoiceField),
        (Question.Kind.DATE, forms.DateField),
        (Question.Kind.PHONE, SingleLineField),
        (Question.Kind.EMAIL, EmailAddressField),
        (Question.Kind.REGION, forms.ChoiceField),
    ],
)
def test_each_kind_becomes_its_field(kind, field_class):
    assert type(field_for(question(kind))) is field_class


def test_a_region_without_options_offers_the_us_states():
    choices = [value for value, _ in field_for(question(Question.Kind.REGION)).choices]
    assert choices[0] == "" and "NY" in choices and len(choices) == 52


class Form(QuestionsMixin, forms.Form):
    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_questions(questions)


def test_answers_come_back_by_key_as_strings_and_empty_ones_are_left_out():
    questions = [
        question(Question.Kind.DATE, "born"),
        question(Question.Kind.CHOICE, "option", options=["New", "Follow-up"]),
        question(Question.Kind.TEXT, "note"),
    ]
    form = Form({"q_born": "1990-02-03", "q_option": "New", "q_note": ""}, questions=questions)
    assert form.is_valid(), form.errors
    assert form.answers() == {"born": date(1990, 2, 3).isoformat(), "option": "New"}


def test_a_phone_answer_must_look_like_a_number():
    form = Form({"q_phone": "call me"}, questions=[question(Question.Kind.PHONE, "phone", required=True)])
    assert not form.is_valid()
    assert "Enter a phone number" in form.errors["q_phone"][0]
