"""Django's form renderer, with the common widgets drawn by Python functions.

A form field drawn through Django's templates costs ~0.4 ms (its widget template, the included
`attrs.html`, the label and error templates, each node resolved on a fresh context); the case
page draws a dozen (its decide, message and note forms: ~40% of its rendering, bench.complaints).
`FastFormRenderer` draws the templates below as Python functions, the same markup byte for
byte, held equal to Django's own by `tests/admin/test_form_renderer.py` over every widget kind.

A template is drawn this way only while its source is Django's, character for character (read
once through the renderer's own loaders): a project override or a Django upgrade that changes
one of them sends that template back through the template engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime

W = "django/forms/widgets/"
_INPUT_INCLUDE = '{% include "django/forms/widgets/input.html" %}\n'
_OPTION_INCLUDE = '{% include "django/forms/widgets/input_option.html" %}\n'
_MULTIPLE_INCLUDE = '{% include "django/forms/widgets/multiple_input.html" %}\n'
_ATTRS = (
    "{% for name, value in widget.attrs.items %}{% if value is not False %} {{ name }}"
    "{% if value is not True %}=\"{{ value|stringformat:'s' }}\"{% endif %}{% endif %}"
    "{% endfor %}"
)
# Django 5.2's sources of the templates drawn here.
SOURCES: dict[str, str] = {
    W + "attrs.html": _ATTRS,
    W + "input.html": (
        '<input type="{{ widget.type }}" name="{{ widget.name }}"{% if widget.value != None %} '
        "value=\"{{ widget.value|stringformat:'s' }}\"{% endif %}"
        '{% include "django/forms/widgets/attrs.html" %}>\n'
    ),
    W + "textarea.html": (
        '<textarea name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>\n'
        "{% if widget.value %}{{ widget.value }}{% endif %}</textarea>\n"
    ),
    W + "select.html": (
        '<select name="{{ widget.name }}"{% include "django/forms/widgets/attrs.html" %}>'
        "{% for group_name, group_choices, group_index in widget.optgroups %}"
        '{% if group_name %}\n  <optgroup label="{{ group_name }}">{% endif %}'
        "{% for option in group_choices %}\n  {% include option.template_name with "
        "widget=option %}{% endfor %}{% if group_name %}\n  </optgroup>{% endif %}{% endfor %}"
        "\n</select>\n"
    ),
    W + "select_option.html": (
        "<option value=\"{{ widget.value|stringformat:'s' }}\""
        '{% include "django/forms/widgets/attrs.html" %}>{{ widget.label }}</option>\n'
    ),
    W + "multiple_input.html": (
        '{% with id=widget.attrs.id %}<div{% if id %} id="{{ id }}"{% endif %}'
        '{% if widget.attrs.class %} class="{{ widget.attrs.class }}"{% endif %}>'
        "{% for group, options, index in widget.optgroups %}{% if group %}\n  <div><label>"
        "{{ group }}</label>{% endif %}{% for option in options %}<div>\n    {% include "
        "option.template_name with widget=option %}</div>{% endfor %}{% if group %}\n  </div>"
        "{% endif %}{% endfor %}\n</div>{% endwith %}\n"
    ),
    W + "input_option.html": (
        "{% if widget.wrap_label %}<label{% if widget.attrs.id %} for="
        '"{{ widget.attrs.id }}"{% endif %}>{% endif %}'
        '{% include "django/forms/widgets/input.html" %}'
        "{% if widget.wrap_label %} {{ widget.label }}</label>{% endif %}\n"
    ),
    W + "radio_option.html": _OPTION_INCLUDE,
    W + "checkbox_option.html": _OPTION_INCLUDE,
    W + "radio.html": _MULTIPLE_INCLUDE,
    W + "checkbox_select.html": _MULTIPLE_INCLUDE,
    "django/forms/attrs.html": _ATTRS.replace("widget.attrs", "attrs"),
    "django/forms/label.html": (
        "{% if use_tag %}<{{ tag }}{% include 'django/forms/attrs.html' %}>{{ label }}"
        "</{{ tag }}>{% else %}{{ label }}{% endif %}\n"
    ),
    "django/forms/errors/list/ul.html": (
        '{% if errors %}<ul class="{{ error_class }}"{% if errors.field_id %} '
        'id="{{ errors.field_id }}_error"{% endif %}>{% for error in errors %}<li>{{ error }}'
        "</li>{% endfor %}</ul>{% endif %}"
    ),
    "django/forms/errors/list/default.html": '{% include "django/forms/errors/list/ul.html" %}',
}
INPUTS = ("text", "number", "email", "url", "password", "hidden", "date", "datetime", "time")
INPUTS += ("search", "tel", "color", "file", "checkbox")
for _kind in INPUTS:
    SOURCES[f"{W}{_kind}.html"] = _INPUT_INCLUDE


def _v(value: Any) -> str:
    """`{{ value }}`: as django.template.base.render_value_in_context shows it (autoescape)."""
    value = localize(template_localtime(value))
    if not issubclass(type(value), str):
        value = str(value)
    return conditional_escape(value)


def _s(value: Any) -> str:
    """`{{ value|stringformat:'s' }}` (the filter keeps a safe value safe)."""
    text = str(value)
    return text if isinstance(value, SafeData) else escape(text)


def _lookup(mapping: Mapping, key: str) -> Any:
    """`{{ widget.attrs.id }}`: the key, or the engine's empty string when it is missing."""
    try:
        return mapping[key]
    except (KeyError, TypeError):
        return ""


def _attrs(attrs: Mapping[str, Any] | None) -> str:
    if not attrs:  # `{% for ... in attrs.items %}` over None or nothing
        return ""
    return "".join(
        f" {_v(name)}" if value is True else f' {_v(name)}="{_s(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    shown = f' value="{_s(value)}"' if value != None else ""  # noqa: E711 - the template's `!=`
    return (
        f'<input type="{_v(widget["type"])}" name="{_v(widget["name"])}"{shown}'
        f"{_attrs(widget['attrs'])}>\n"
    )


def _textarea(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{_v(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_v(value) if value else ''}</textarea>\n"
    )


def _option(option: Mapping[str, Any]) -> str:
    return (
        f'<option value="{_s(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_v(option['label'])}</option>\n"
    )


def _input_option(option: Mapping[str, Any]) -> str:
    field = _input(option)
    if not option.get("wrap_label"):
        return field + "\n"
    id_ = _lookup(option["attrs"], "id")
    label_for = f' for="{_v(id_)}"' if id_ else ""
    return f"<label{label_for}>{field} {_v(option['label'])}</label>\n"


OptionHTML = Callable[[Mapping], "str | None"]


def _grouped(
    optgroups: Any, option_html: OptionHTML, *, opening: str, closing: str, each: str
) -> str | None:
    """The options of `optgroups`, a group's `opening` (formatted with its label) and
    `closing` around its options, each option's markup formatted into `each`; None when an
    option's template is not drawn here."""
    parts = []
    for group, options, _index in optgroups:
        if group:
            parts.append(opening.format(_v(group)))
        for option in options:
            html = option_html(option)
            if html is None:
                return None
            parts.append(each.format(html))
        if group:
            parts.append(closing)
    return "".join(parts)


def _select(widget: Mapping[str, Any], option_html: OptionHTML) -> str | None:
    options = _grouped(
        widget["optgroups"], option_html,
        opening='\n  <optgroup label="{}">', closing="\n  </optgroup>", each="\n  {}",
    )  # fmt: skip
    if options is None:
        return None
    return f'<select name="{_v(widget["name"])}"{_attrs(widget["attrs"])}>{options}\n</select>\n'


def _multiple(widget: Mapping[str, Any], option_html: OptionHTML) -> str | None:
    options = _grouped(
        widget["optgroups"], option_html,
        opening="\n  <div><label>{}</label>", closing="\n  </div>", each="<div>\n    {}</div>",
    )  # fmt: skip
    if options is None:
        return None
    attrs = widget["attrs"]
    id_, css = _lookup(attrs, "id"), _lookup(attrs, "class")
    shown_id = f' id="{_v(id_)}"' if id_ else ""
    shown_class = f' class="{_v(css)}"' if css else ""
    return f"<div{shown_id}{shown_class}>{options}\n</div>\n"


def _label(context: Mapping[str, Any]) -> str:
    label = _v(context["label"])
    if not context["use_tag"]:
        return label + "\n"
    tag = _v(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{label}</{tag}>\n"


def _errors(context: Mapping[str, Any]) -> str:
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    id_ = f' id="{_v(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_v(error)}</li>" for error in errors)
    return f'<ul class="{_v(context["error_class"])}"{id_}>{items}</ul>'


class FastFormRenderer(DjangoTemplates):
    """Django's DjangoTemplates form renderer; the templates of SOURCES drawn in Python."""

    def __init__(self) -> None:
        super().__init__()
        self._verified: dict[str, bool] = {}

    def _is_django(self, template_name: str) -> bool:
        """Whether the template this renderer would load is Django's own (SOURCES)."""
        verified = self._verified.get(template_name)
        if verified is None:
            try:
                source = self.get_template(template_name).template.source
            except Exception:  # noqa: BLE001 - no such template: the engine will say so
                source = None
            verified = source == SOURCES.get(template_name)
            self._verified[template_name] = verified
        return verified

    def _fast(self, *names: str) -> bool:
        return all(self._is_django(name) for name in names)

    def _option_html(self, option: Mapping[str, Any]) -> str | None:
        name = option.get("template_name", "")
        if name == W + "select_option.html" and self._fast(name, W + "attrs.html"):
            return _option(option)
        if name in (W + "radio_option.html", W + "checkbox_option.html") and self._fast(
            name, W + "input_option.html", W + "input.html", W + "attrs.html"
        ):
            return _input_option(option) + "\n"
        return None

    def _draw(self, template_name: str, context: Mapping[str, Any]) -> str | None:
        widget = context.get("widget")
        if template_name.startswith(W) and isinstance(widget, Mapping):
            kind = template_name[len(W) : -len(".html")]
            common = (template_name, W + "attrs.html")
            if kind in INPUTS and self._fast(*common, W + "input.html"):
                return _input(widget) + "\n"
            if kind == "textarea" and self._fast(*common):
                return _textarea(widget)
            if kind == "select" and self._fast(*common):
                return _select(widget, self._option_html)
            if kind in ("radio", "checkbox_select") and self._fast(
                *common, W + "multiple_input.html"
            ):
                return _multiple(widget, self._option_html)
            return None
        if template_name == "django/forms/label.html" and self._fast(
            template_name, "django/forms/attrs.html"
        ):
            return _label(context)
        if template_name in (
            "django/forms/errors/list/default.html",
            "django/forms/errors/list/ul.html",
        ) and self._fast(template_name, "django/forms/errors/list/ul.html"):
            return _errors(context)
        return None

    def render(self, template_name: str, context: dict, request: Any = None) -> str:
        if template_name in SOURCES and request is None:
            html = self._draw(template_name, context)
            if html is not None:
                return html.strip()  # as BaseRenderer.render strips the template's output
        return super().render(template_name, context, request)
