"""URL patterns of this app, mounted by backoffice.portal_urls, api_urls and staff_urls."""

from django.urls import path

from . import api, views

portal_patterns: list = [
    path("complaints/new/", views.complaint_new, name="complaint-new"),
    path("complaints/<str:reference>/", views.complaint_detail, name="complaint"),
]
api_patterns: list = [
    path("complaints/", api.ComplaintListApi.as_view(), name="complaints"),
    path("complaints/<str:reference>/", api.ComplaintDetailApi.as_view(), name="complaint"),
    path(
        "complaints/<str:reference>/review/",
        api.ComplaintReviewApi.as_view(),
        name="complaint-review",
    ),
]
staff_patterns: list = []
