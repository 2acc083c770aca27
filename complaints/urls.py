"""URL patterns of this app, mounted by backoffice.portal_urls, api_urls and staff_urls."""

from django.urls import path

from . import api, views

portal_patterns: list = [
    path("complaints/", views.complaint_list, name="complaints"),
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/<str:reference>/", views.complaint_detail, name="complaint"),
    path(
        "complaints/<str:reference>/messages/",
        views.complaint_message,
        name="complaint-message",
    ),
    path(
        "complaints/<str:reference>/attachments/<int:attachment_id>/",
        views.complaint_attachment,
        name="complaint-attachment",
    ),
]
api_patterns: list = [
    path("complaints/", api.ComplaintListApi.as_view(), name="complaints"),
    path("complaints/<str:reference>/", api.ComplaintDetailApi.as_view(), name="complaint"),
    path(
        "complaints/<str:reference>/review/",
        api.ComplaintReviewApi.as_view(),
        name="complaint-review",
    ),
    path(
        "complaints/<str:reference>/messages/",
        api.ComplaintMessagesApi.as_view(),
        name="complaint-messages",
    ),
    path(
        "complaints/<str:reference>/attachments/",
        api.ComplaintAttachmentsApi.as_view(),
        name="complaint-attachments",
    ),
    path(
        "complaints/<str:reference>/attachments/<int:attachment_id>/",
        api.ComplaintAttachmentDownloadApi.as_view(),
        name="complaint-attachment",
    ),
]
staff_patterns: list = []
