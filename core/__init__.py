"""The bottom layer: imports nothing of ours. Errors, audit (who and why), clock, crypto, paging,
the API error handler and permission classes, admin helpers, step-up and the role names."""
