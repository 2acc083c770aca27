"""URL patterns of this app, mounted by backoffice.portal_urls, api_urls and staff_urls."""

from django.urls import path

from . import api, views

portal_patterns: list = [
    path("accounts/<int:account_id>/close/", views.closure_request, name="account-close"),
    path("closures/<int:closure_id>/", views.closure_detail, name="closure"),
    path("closures/<int:closure_id>/confirm/", views.closure_confirm, name="closure-confirm"),
    path("closures/<int:closure_id>/resend/", views.closure_code_resend, name="closure-resend"),
    path("closures/<int:closure_id>/withdraw/", views.closure_withdraw, name="closure-withdraw"),
    path("appeals/", views.appeal_list, name="appeals"),
    path("appeals/new/", views.appeal_new, name="appeal-new"),
    path("appeals/<str:reference>/", views.appeal_detail, name="appeal"),
    path("appeals/<str:reference>/attachment/", views.appeal_attachment, name="appeal-attachment"),
]
api_patterns: list = [
    path("closures/", api.ClosureCreateApi.as_view(), name="closures"),
    path("closures/<int:closure_id>/", api.ClosureDetailApi.as_view(), name="closure"),
    path(
        "closures/<int:closure_id>/confirm/",
        api.ClosureConfirmApi.as_view(),
        name="closure-confirm",
    ),
    path(
        "closures/<int:closure_id>/resend/",
        api.ClosureCodeResendApi.as_view(),
        name="closure-resend",
    ),
    path(
        "closures/<int:closure_id>/withdraw/",
        api.ClosureWithdrawApi.as_view(),
        name="closure-withdraw",
    ),
    path("appeals/", api.AppealCreateApi.as_view(), name="appeals"),
    path("appeals/<str:reference>/", api.AppealDetailApi.as_view(), name="appeal"),
    path("risk/signals/", api.RiskSignalCreateApi.as_view(), name="risk-signals"),
]
staff_patterns: list = []
