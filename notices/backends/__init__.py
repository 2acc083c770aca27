"""Delivery backends. Email goes through Django's email backend; SMS through `sms.py`."""
