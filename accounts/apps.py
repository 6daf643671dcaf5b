from allauth.account.apps import AccountConfig
from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default = True  # this module holds another AppConfig (allauth's, renamed below)
    name = "accounts"
    verbose_name = "Users and security"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (connects allauth's signals)


class EmailAddressesConfig(AccountConfig):  # type: ignore[misc]  # allauth is untyped
    """allauth's account app, named for what the admin lists under it: both apps would
    otherwise be "Accounts"."""

    default = False
    verbose_name = "Email addresses"
