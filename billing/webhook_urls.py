from django.urls import path

from billing.webhooks import webhook

urlpatterns = [path("<str:provider>", webhook, name="billing_webhook")]
