"""Delivery backends. Email goes through Django's email backend, over one pooled connection per
worker process (`smtp.py`); SMS through `sms.py`."""


class OutcomeUnknown(Exception):  # noqa: N818 - a state, not an error of ours
    """The message was handed over completely, but whether the provider accepted it cannot be
    known (the connection dropped after the SMTP DATA terminator, the gateway timed out after
    the request was sent). Never retried blindly: the notice becomes `unknown`."""
