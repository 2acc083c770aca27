"""URL patterns of this app, mounted by backoffice.portal_urls, api_urls and staff_urls."""

from django.urls import path

from core.api_auth import TokenLoginView, TokenLogoutView

from . import api, views

# Customer portal (helper D).
portal_patterns: list = [
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", views.portal_logout, name="logout"),
    path("", views.account_list, name="accounts"),
    path("accounts/<int:account_id>/", views.account_detail, name="account"),
]
# REST API (helper D).
api_patterns: list = [
    path("auth/token/", TokenLoginView.as_view(), name="auth-token"),
    path("auth/logout/", TokenLogoutView.as_view(), name="auth-logout"),
    path("accounts/", api.AccountListApi.as_view(), name="accounts"),
    path("accounts/<int:account_id>/loans/", api.AccountLoansApi.as_view(), name="account-loans"),
]
staff_patterns: list = []
