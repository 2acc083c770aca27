"""Every reason field of the product, posted at 150 and 1,001 characters
(`test_every_reason_field.py`); `states.py` builds each starting state through the services,
`posts.py` sends each form."""
