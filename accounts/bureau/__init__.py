"""The credit bureau: backends (`backends.py`, chosen by settings.CREDIT_BUREAU_BACKEND) and the
at-most-once sending of objection marks, outcomes and corrections (`services.py`)."""
