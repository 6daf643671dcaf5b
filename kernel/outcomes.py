from django.db import models
from django.utils.translation import gettext_lazy


class Outcome(models.TextChoices):
    """How an audited attempt ended: the account log and the organization log alike."""

    SUCCESS = "success", gettext_lazy("Success")
    FAILURE = "failure", gettext_lazy("Failure")
    DENIED = "denied", gettext_lazy("Denied")
