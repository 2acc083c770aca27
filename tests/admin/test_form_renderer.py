"""core.form_renderer.FastFormRenderer draws the common widgets, labels and error lists in
Python: the same markup as Django's own templates, byte for byte, for every widget kind, value
and language; and it does skip the template engine for them."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test import override_settings
from django.test.signals import template_rendered
from django.utils import translation
from django.utils.safestring import mark_safe

from core.form_renderer import SOURCES, FastFormRenderer

TRICKY = "a<b> & \"c\" 'd'"
CHOICES = [("", "---------"), ("a", "甲 <A>"), (1, "one"), ("grp", [("x", "X & x"), ("y", "Y")])]


def _widgets() -> list[tuple[str, forms.Widget, object]]:
    """(name, widget, value): every widget kind the renderer draws, with awkward values."""
    attrs = {"id": "id_f", "class": "wide", "required": True, "disabled": False, "data-x": TRICKY}
    cases: list[tuple[str, forms.Widget, object]] = []
    for value in (None, "", "plain", TRICKY, mark_safe("<b>safe</b>"), 0, Decimal("1234.50")):
        cases += [
            ("text", forms.TextInput(attrs=attrs), value),
            ("area", forms.Textarea(attrs={"rows": 4, "maxlength": 4000}), value),
            ("num", forms.NumberInput(attrs={"step": "0.01", "min": 0}), value),
            ("hidden", forms.HiddenInput(), value),
            ("mail", forms.EmailInput(), value),
            ("pw", forms.PasswordInput(render_value=True), value),
        ]
    cases += [
        ("when", forms.DateTimeInput(attrs={"type": "datetime-local"}), datetime(2026, 12, 1, 3, 12)),
        ("day", forms.DateInput(), date(2026, 12, 1)),
        ("file", forms.FileInput(attrs={"accept": ".pdf,.png"}), None),
        ("tick", forms.CheckboxInput(), True),
        ("tick", forms.CheckboxInput(), False),
        ("tick", forms.CheckboxInput(attrs={"id": "t"}), "on"),
    ]  # fmt: skip
    for value in (None, "", "a", 1, "x", ["a", "y"]):
        cases += [
            ("pick", forms.Select(choices=CHOICES, attrs={"id": "id_pick"}), value),
            ("many", forms.SelectMultiple(choices=CHOICES), value),
            ("radio", forms.RadioSelect(choices=CHOICES, attrs={"id": "id_r", "class": "c"}), value),
            ("radio", forms.RadioSelect(choices=CHOICES[1:3]), value),
            ("boxes", forms.CheckboxSelectMultiple(choices=CHOICES, attrs={"id": "b"}), value),
        ]  # fmt: skip
    cases += [("yesno", forms.NullBooleanSelect(), v) for v in (None, "", True, False, "x")]
    return cases


class EveryField(forms.Form):
    reason = forms.CharField(label="原因 <why>", max_length=10, help_text="at most <b>10</b>")
    text = forms.CharField(widget=forms.Textarea, required=False, label="")
    amount = forms.DecimalField(min_value=Decimal("0.01"))
    day = forms.DateField(required=False)
    outcome = forms.ChoiceField(choices=CHOICES[1:], widget=forms.RadioSelect)
    kinds = forms.MultipleChoiceField(choices=CHOICES[1:3], widget=forms.CheckboxSelectMultiple)
    pick = forms.ChoiceField(choices=CHOICES)
    agree = forms.BooleanField()
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    proof = forms.FileField(required=False)


@pytest.fixture(params=["zh-hans", "en"])
def language(request):
    with translation.override(request.param):
        yield request.param


@override_settings(USE_THOUSAND_SEPARATOR=True)
def test_every_widget_is_drawn_as_djangos_templates_draw_it(language, settings):
    django, fast = DjangoTemplates(), FastFormRenderer()
    drawn = 0
    for name, widget, value in _widgets():
        expected = widget.render(name, value, renderer=django)
        assert widget.render(name, value, renderer=fast) == expected, (name, widget, value)
        drawn += 1
    assert drawn > 60
    assert all(fast._verified.get(name) for name in fast._verified), fast._verified


def _forms() -> list[forms.Form]:
    bad = {"reason": TRICKY * 3, "amount": "-1", "outcome": "zzz", "pick": "a", "day": "x"}
    good = {"reason": "ok", "amount": "12.5", "outcome": "a", "kinds": ["a"], "agree": "on"}
    return [EveryField(), EveryField(bad), EveryField(good), EveryField(auto_id=False)]


def test_whole_forms_with_their_labels_and_errors_are_the_same(language):
    for make in range(len(_forms())):
        expected_form, fast_form = _forms()[make], _forms()[make]
        expected_form.renderer, fast_form.renderer = DjangoTemplates(), FastFormRenderer()
        for method in ("as_p", "as_div", "as_table", "as_ul"):
            assert getattr(fast_form, method)() == getattr(expected_form, method)(), method
        assert str(fast_form.errors) == str(expected_form.errors)
        assert str(fast_form.non_field_errors()) == str(expected_form.non_field_errors())
        for field in fast_form:
            twin = expected_form[field.name]
            assert field.label_tag() == twin.label_tag()
            assert str(field.errors) == str(twin.errors)


def test_the_drawn_templates_skip_the_template_engine():
    seen: list[str] = []

    def record(sender, template, context, **kwargs):
        seen.append(template.name)

    form = EveryField({"reason": "", "amount": "x"})
    del form.fields["proof"]  # ClearableFileInput: its own template, through the engine
    form.renderer = FastFormRenderer()
    template_rendered.connect(record)
    try:
        form.as_p()
    finally:
        template_rendered.disconnect(record)
    through_engine = [n for n in seen if n in SOURCES]
    assert through_engine == []
    assert "django/forms/p.html" in seen  # the form's own layout still comes from Django
    assert re.search(r'<input type="text" name="reason" maxlength="10"', form.as_p())


def test_an_overridden_template_goes_back_through_the_engine(tmp_path, settings):
    override = tmp_path / "django" / "forms" / "widgets"
    override.mkdir(parents=True)
    (override / "textarea.html").write_text("<textarea data-ours>{{ widget.value }}</textarea>")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]

    class FromProject(FastFormRenderer):
        """Loads templates as the project's engine does (like TemplatesSetting)."""

        def get_template(self, template_name):
            from django.template.loader import get_template

            return get_template(template_name)

    html = forms.Textarea().render("t", "x", renderer=FromProject())
    assert html == "<textarea data-ours>x</textarea>"


def test_the_default_renderer_is_the_fast_one(settings):
    from django.forms.renderers import get_default_renderer

    assert settings.FORM_RENDERER == "core.form_renderer.FastFormRenderer"
    assert isinstance(get_default_renderer(), FastFormRenderer)


def test_the_case_page_is_the_same_with_either_renderer(staff_client, system_user):
    from tests.admin.test_case_page import _busy_case, _case_url

    client, agent, _device = staff_client("agent")
    complaint = _busy_case(system_user, agent)
    pages = []
    for renderer in (
        "django.forms.renderers.DjangoTemplates",
        "core.form_renderer.FastFormRenderer",
    ):
        with override_settings(FORM_RENDERER=renderer):
            body = client.get(_case_url(complaint)).content.decode()
        # The CSRF token and the CSP nonce differ on every request.
        body = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", body)
        pages.append(re.sub(r'nonce="[^"]+"', 'nonce=""', body))
    assert 'data-testid="act-decide"' in pages[1] and "<textarea" in pages[1]
    assert pages[1] == pages[0]


def test_dates_in_widgets_are_the_same_in_any_time_zone(language):
    from django.utils import timezone

    moment = datetime(2026, 11, 30, 19, 12, tzinfo=ZoneInfo("UTC"))
    for zone in ("Asia/Shanghai", "UTC"):
        with timezone.override(zone):
            for widget in (forms.DateTimeInput(), forms.TextInput(), forms.Textarea()):
                expected = widget.render("w", moment, renderer=DjangoTemplates())
                assert widget.render("w", moment, renderer=FastFormRenderer()) == expected
                assert "2026" in expected
