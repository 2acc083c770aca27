"""URL patterns of this app, mounted by backoffice.portal_urls, api_urls and staff_urls."""

from django.urls import path

from core.api_auth import TokenLoginView, TokenLogoutView

from . import api, api_core, views

# Customer portal (helper D).
portal_patterns: list = [
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.portal_logout, name="logout"),
    path("", views.account_list, name="accounts"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
    path("account-secured/", views.account_secured, name="account-secured"),
    path("password/", views.password_change, name="password"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/code/", views.password_reset_code, name="password-reset-code"),
]
# REST API (helper D).
api_patterns: list = [
    path("auth/token/", TokenLoginView.as_view(), name="auth-token"),
    path("auth/logout/", TokenLogoutView.as_view(), name="auth-logout"),
    path("accounts/", api.AccountListApi.as_view(), name="accounts"),
    path("accounts/<int:account_id>/loans/", api.AccountLoansApi.as_view(), name="account-loans"),
    # The lending core (helper feedg): the ledger feed and the pre-check.
    path("core/customers/", api_core.CoreCustomersApi.as_view(), name="core-customers"),
    path("core/loans/", api_core.CoreLoansApi.as_view(), name="core-loans"),
    path("core/repayments/", api_core.CoreRepaymentsApi.as_view(), name="core-repayments"),
    path(
        "core/authorizations/check/",
        api_core.CoreAuthorizationCheckApi.as_view(),
        name="core-authorization-check",
    ),
]
staff_patterns: list = []
