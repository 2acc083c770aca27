"""URL patterns of the notices app (portal inbox, API messages)."""

from django.urls import path

from . import api, views

portal_patterns: list = [
    path("messages/", views.message_list, name="messages"),
]
api_patterns: list = [
    path("messages/", api.MessageListApi.as_view(), name="messages"),
]
