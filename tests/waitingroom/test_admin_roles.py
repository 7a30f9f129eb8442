"""Every admin declares who may view it; a scheduler gets nothing of patient data in the admin
(visits, their history, the access trail): 403/404 on each of their URLs, popups, search and
autocomplete included. Odd list queries get a 4xx, never a 500."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import staff
from tests.visits.conftest import ready
from waitingroom.admin_scoping import ClinicScopedInline, GuardedAdmin
from waitingroom.audit import services as audit
from waitingroom.models import Clinic, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduler(clinic_a):
    return staff(username="sam", clinic=clinic_a, role=Role.SCHEDULER, is_staff=True)


@pytest.fixture
def clinic_admin(clinic_a):
    return staff(username="ada", clinic=clinic_a, role=Role.CLINIC_ADMIN, is_staff=True)


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.test", "root-pass-123")


@pytest.fixture
def rows(clinic_a, clinic_b, clinic_admin, rf):
    """A visit in each clinic, and an access entry about the first."""
    own, other = ready(clinic_a, "Secret Patient"), ready(clinic_b, "Other Patient")
    request = rf.get("/")
    request.user = clinic_admin
    entry = audit.record(
        request=request,
        clinic_id=clinic_a.id,
        action=audit.Action.VIEWED,
        kind=audit.Kind.CHAT,
        object_id=own.id,
        patient_label=own.patient_name,
    )
    return {"visit": own, "other": other, "accessevent": entry}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def patient_data_admins():
    return [m for m, a in admin.site._registry.items() if Role.SCHEDULER not in a.view_roles]


def test_every_admin_and_inline_declares_its_roles():
    for model_admin in admin.site._registry.values():
        assert isinstance(model_admin, GuardedAdmin), type(model_admin)
        assert isinstance(model_admin.view_roles, frozenset)
        for inline in model_admin.inlines:
            assert issubclass(inline, ClinicScopedInline), inline
            assert isinstance(inline.view_roles, frozenset), inline
    names = {m._meta.label for m in patient_data_admins()}
    assert {"visits.Visit", "waitingroom.AccessEvent"} <= names


def test_a_scheduler_gets_403_or_404_on_every_admin_url_of_patient_data(scheduler, rows):
    client = client_for(scheduler)
    checked = 0
    for model in patient_data_admins():
        obj = rows.get(model._meta.model_name)
        urls = [
            admin_url(model, "changelist"),
            admin_url(model, "changelist") + "?_popup=1&_to_field=id",
            admin_url(model, "changelist") + "?q=Secret",
            admin_url(model, "add"),
        ]
        if obj is not None:
            urls += [
                admin_url(model, "change", obj.pk),
                admin_url(model, "history", obj.pk),
                admin_url(model, "delete", obj.pk),
            ]
        for url in urls:
            for method in (client.get, client.post):
                response = method(url)
                assert response.status_code in (403, 404), (url, response.status_code)
                assert b"Secret Patient" not in response.content
                checked += 1
    assert client.get("/admin/visits/").status_code == 404
    index = client.get("/admin/")
    assert b"visits/visit" not in index.content and b"accessevent" not in index.content
    assert checked >= 28


def autocomplete_sources():
    """Every (model, field) whose target has an admin with search_fields: what autocomplete serves."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            target = getattr(field, "related_model", None)
            searchable = target in admin.site._registry and admin.site._registry[target].search_fields
            if field.is_relation and field.concrete and searchable:
                yield model, field, target


def test_autocomplete_follows_the_same_roles_for_every_searchable_model(scheduler, clinic_admin, rows):
    scheduler_client, admin_client = client_for(scheduler), client_for(clinic_admin)
    targets = set()
    for model, field, target in autocomplete_sources():
        query = {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field.name,
            "term": "",
        }
        response = scheduler_client.get("/admin/autocomplete/", query)
        allowed = Role.SCHEDULER in admin.site._registry[target].view_roles
        assert response.status_code == (200 if allowed else 403), (model, field.name, response.status_code)
        assert b"Patient" not in response.content  # neither clinic's patients, nor anyone else's
        assert b"Clinic B" not in admin_client.get("/admin/autocomplete/", query).content
        targets.add(target._meta.label)
    # The five searchable admins: accounts, clinics, visits, requests, meetings (and the trail).
    assert {"auth.User", "waitingroom.Clinic", "visits.Visit", "scheduling.Meeting"} <= targets


ODD_VALUES = ["\x00", "a\x00b"]


def odd_queries(model_admin):
    model = model_admin.model
    texts = [f.name for f in model._meta.fields if f.get_internal_type() in ("CharField", "TextField")]
    text = texts[0] if texts else "id"
    dates = [f.name for f in model._meta.fields if f.get_internal_type() in ("DateTimeField", "DateField")]
    yield {f"{text}__regex": "("}
    yield {f"{text}__iregex": "[a-"}
    yield {"id__regex": "("}
    for value in ODD_VALUES:
        yield {"q": value}
        yield {text: value}
        yield {f"{text}__startswith": value}
        yield {"o": value}
        yield {value: "1"}
    for name in dates:
        yield {f"{name}__year": "99999999"}
        yield {f"{name}__year__gte": "99999999"}
        yield {f"{name}__gte": "99999-01-01"}
    for name in model_admin.list_filter:
        if isinstance(name, str):
            yield {name: "\x00"}
            yield {f"{name}__regex": "("}


@pytest.mark.parametrize("who", ["root", "clinic_admin"])
def test_odd_list_queries_get_a_4xx_or_are_ignored_never_a_500(who, request, rows):
    client = client_for(request.getfixturevalue(who))
    client.raise_request_exception = False
    tried = 0
    for model, model_admin in admin.site._registry.items():
        url = admin_url(model, "changelist")
        if client.get(url).status_code != 200:
            continue  # not this user's admin
        for query in odd_queries(model_admin):
            response = client.get(url, query)
            assert response.status_code < 500, (url, query, response.status_code)
            if response.status_code == 302:  # Django's "invalid filter" page
                assert client.get(response.url).status_code < 500
            tried += 1
        if model_admin.date_hierarchy:
            for query in ({f"{model_admin.date_hierarchy}__year": "99999999"}, {"at__month": "13"}):
                assert client.get(url, query).status_code < 500
    autocomplete = {"app_label": "visits", "model_name": "chatmessage", "field_name": "visit", "term": "\x00"}
    assert client.get("/admin/autocomplete/", autocomplete).status_code == 400
    assert tried > 50


def test_a_regex_filter_and_a_nul_byte_are_refused_with_400(clinic_admin, rows):
    client = client_for(clinic_admin)
    assert client.get("/admin/visits/visit/", {"status__regex": "("}).status_code == 400
    assert client.get("/admin/visits/visit/", {"patient_name": "a\x00"}).status_code == 400
    assert client.get("/admin/visits/visit/", {"q": "\x00"}).status_code == 400
    # An impossible year is treated like any invalid filter value: Django's "invalid filter" page.
    response = client.get("/admin/visits/visit/", {"arrived_at__year": "99999999"})
    assert response.status_code == 302 and response.url.endswith("?e=1")


def test_admin_text_fields_refuse_line_breaks_and_control_characters(rf, django_user_model):
    """A clinic's or a service's name reaches email headers, .ics files and SMS: the admin's forms
    check one-line values as every other form does, in every admin and inline."""
    from django.db import models

    from waitingroom.admin_scoping import TEXT_FORM_FIELDS

    request = rf.get("/admin/")
    request.user = django_user_model(is_superuser=True, is_staff=True)
    checked = 0
    for model_admin in admin.site._registry.values():
        forms = [model_admin.get_form(request)]
        forms += [
            inline(model_admin.model, admin.site).get_formset(request).form for inline in model_admin.inlines
        ]
        for form in forms:
            for name, field in form.base_fields.items():
                if name in form.declared_fields or name in (form._meta.field_classes or {}):
                    continue  # the form's own field (Django's username field has its own validator)
                try:
                    db_field = form._meta.model._meta.get_field(name)
                except FieldDoesNotExist:
                    continue  # a form-only field (a password pair, say)
                expected = TEXT_FORM_FIELDS.get(type(db_field))
                if expected is None or not isinstance(db_field, models.Field) or db_field.choices:
                    continue
                assert isinstance(field, expected), (form._meta.model, name, type(field))
                checked += 1
    assert checked > 5
    name = admin.site._registry[Clinic].get_form(request).base_fields["name"]
    for bad in ("Clinic\nBcc: x@example.com", "A\x0bB", "A\u2028B"):
        with pytest.raises(ValidationError):
            name.clean(bad)
    assert name.clean("Clinic A") == "Clinic A"


@pytest.mark.parametrize("who", ["root", "clinic_admin"])
@pytest.mark.parametrize("parts", [("9999",), ("9999", "12"), ("9999", "12", "31")])
def test_a_date_drill_down_at_the_last_year_gets_the_invalid_filter_page_not_a_500(who, parts, request, rows):
    """Django's drill-down bounds a year, month or day by the next one: after 9999 there is none
    (an OverflowError or ValueError, a 500 on the payments list, its CSV and the access trail)."""
    client = client_for(request.getfixturevalue(who))
    client.raise_request_exception = False
    drills = [
        (admin_url(model, "changelist"), model_admin.date_hierarchy)
        for model, model_admin in admin.site._registry.items()
        if model_admin.date_hierarchy
    ]
    drills.append(("/admin/waitingroom/payment/export/", "created_at"))
    answers = {}
    for url, field in drills:
        query = dict(zip([f"{field}__year", f"{field}__month", f"{field}__day"], parts, strict=False))
        response = client.get(url, query)
        answers[url] = response.status_code
        if response.status_code == 302:
            assert response.url.endswith("?e=1"), url
    assert len(answers) >= 3 and all(code in (302, 403) for code in answers.values()), answers
