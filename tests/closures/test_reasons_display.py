"""Issue 15, what the zh pages showed in English: the appeal's "attachment content type" label,
and the closure history's "why" column in the reader's language (closures/reasons.py): the notice
an event sent by its label, never its code; the reasons the services write themselves
translated at display time with their values; what a person typed as it is.

Until `make messages` brings the new msgids into the catalogs, the zh-hans translation of a new
msgid is put into Django's loaded catalog by the `zh` fixture (the words a translator writes);
labels already in the catalog (账户已冻结) are read from it as they are."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from closures import services
from closures.enums import ClosureEventKind
from closures.models import ClosureEvent, ClosureRequest
from closures.reasons import SYSTEM_REASONS, notice_label, system_reason_display
from closures.services import campaigns
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory
from tests.factories.closures import staff

pytestmark = pytest.mark.django_db

ZH = {
    "Closure notice": "销户通知",
    "closure campaign #%(campaign)s: %(title)s": "批量销户 #%(campaign)s：%(title)s",
    "appeal %(reference)s upheld: %(reason)s": "申诉 %(reference)s 成立：%(reason)s",
    "attachment content type": "附件文件类型",
}


@pytest.fixture
def zh():
    catalog = trans_real.translation("zh-hans")._catalog
    first = catalog._catalogs[0]
    saved = {msgid: first.get(msgid) for msgid in ZH}
    for msgid, msgstr in ZH.items():
        catalog[msgid] = msgstr
    yield
    for msgid, old in saved.items():
        if old is None:
            first.pop(msgid, None)
        else:
            first[msgid] = old


def _campaign_closure_appealed() -> tuple[ClosureRequest, str]:
    """A campaign's closure, its appeal upheld (the reversal's reason is the service's)."""
    manager, reviewer = staff("manager"), staff("reviewer")
    account = CreditAccountFactory(customer=CustomerFactory(preferred_language="zh-hans"))
    LoanRecordFactory(account=account, kind="cash")
    campaign = services.campaign_create(
        actor=manager, reason="retire", title="现金产品下线", closure_reason="product_change",
        segment={"loan_kind": "cash"}, explanation_zh="产品下线。", explanation_en="Retired.",
    )  # fmt: skip
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="segment checked")
    campaigns.campaign_run(campaign_id=campaign.pk)
    closure = ClosureRequest.objects.get(campaign=campaign)
    appeal = services.appeal_file(
        actor=account.customer.user, closure_id=closure.pk, grounds="I still use it"
    )
    services.appeal_decide(
        actor=staff("manager"), appeal_id=appeal.pk, outcome="upheld",
        decision_text="You keep the account.", reason="客户仍在使用",
    )  # fmt: skip
    return closure, appeal.reference


def _summaries(closure: ClosureRequest) -> dict[str, str]:
    events = closure.events.select_related("appeal").order_by("at", "pk")
    return {e.kind: e.summary for e in events}


def test_the_services_reasons_and_the_notice_read_in_chinese_on_zh_pages(zh):
    closure, reference = _campaign_closure_appealed()
    with translation.override("zh-hans"):
        shown = _summaries(closure)
    assert shown[ClosureEventKind.PROPOSED] == f"批量销户 #{closure.campaign_id}：现金产品下线"
    assert shown[ClosureEventKind.NOTICE_SENT] == "销户通知"
    assert shown[ClosureEventKind.REVERSED] == f"申诉 {reference} 成立：客户仍在使用"
    assert shown[ClosureEventKind.APPROVED] == "segment checked"  # a person's words, as typed
    with translation.override("en"):
        english = _summaries(closure)
    assert english[ClosureEventKind.NOTICE_SENT] == "Closure notice"
    stored = dict(closure.events.values_list("kind", "reason"))
    assert english[ClosureEventKind.REVERSED] == stored[ClosureEventKind.REVERSED]
    assert english[ClosureEventKind.PROPOSED] == stored[ClosureEventKind.PROPOSED]


def test_the_closure_page_shows_no_notice_code_and_no_english_system_reason(zh, signed_in):
    closure, reference = _campaign_closure_appealed()
    client, _user, _device = signed_in("manager")
    page = client.get(
        f"/admin/closures/closurerequest/{closure.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "销户通知" in page and f"申诉 {reference} 成立：客户仍在使用" in page
    assert "<td>closure.notice</td>" not in page
    assert f"appeal {reference} upheld" not in page


def test_a_label_already_in_the_catalog_and_an_unknown_event():
    with translation.override("zh-hans"):
        assert notice_label("closure.frozen") == "账户已冻结"
    assert notice_label("closures.some_future_event") == "closures.some_future_event"
    event = ClosureEvent(kind=ClosureEventKind.NOTICE_SENT, notice_event="closure.closed")
    with translation.override("en"):
        assert event.summary == "Account closed"


@pytest.mark.parametrize(
    "stored, values",
    [
        ("closure campaign #12 approved: ok: checked", {"campaign": "12", "reason": "ok: checked"}),
        ("closure campaign #12: 标题: 二", {"campaign": "12", "title": "标题: 二"}),
        ("appeal AP-1 upheld: 理由", {"reference": "AP-1", "reason": "理由"}),
        ("closure #7 took effect", {"closure": "7"}),
        ("closure #7", {"closure": "7"}),
        ("reminder sent: decide by 2026-12-01 10:00", {"due_at": "2026-12-01 10:00"}),
    ],
)
def test_each_template_takes_its_values_back(stored, values):
    with translation.override("en"):
        assert system_reason_display(stored) == stored
    from closures.reasons import _patterns

    matches = [p.match(stored).groupdict() for p, _t in _patterns() if p.match(stored)]
    assert matches[0] == values


def test_the_templates_are_the_texts_the_services_write():
    from closures.risk_scan import WHY
    from closures.services.customer_request import CONFIRMED_REASON
    from closures.services.effect import SETTLED_REASON
    from closures.sweeps import REMINDER_REASON

    with translation.override(None):
        templates = {str(t) for t in SYSTEM_REASONS}
    assert {WHY, CONFIRMED_REASON, SETTLED_REASON, REMINDER_REASON} <= templates


def test_a_persons_reason_is_shown_as_typed():
    with translation.override("zh-hans"):
        assert system_reason_display("closure campaign approved by phone") == (
            "closure campaign approved by phone"
        )
        assert system_reason_display("") == ""


def test_the_appeal_page_labels_the_attachment_type_in_chinese(zh, signed_in):
    closure, reference = _campaign_closure_appealed()
    client, _user, _device = signed_in("manager")
    page = client.get(
        f"/admin/closures/appeal/{closure.appeal.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert reference in page
    assert "附件文件类型" in page and "Attachment content type" not in page
