"""zh-hans number formats: money reads ¥20,000.00 as in English (PRODUCT.md "The customer's
side"); Django's own zh_Hans formats group by 4 with no separator. Everything else is Django's."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
