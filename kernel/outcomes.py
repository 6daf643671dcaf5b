from django.db import models


class Outcome(models.TextChoices):
    """How an audited attempt ended: the account log and the organization log alike."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
