from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.page, name="page"),
    path("plans/", views.plans, name="plans"),
    path("invoices/", views.invoices, name="invoices"),
    path("checkout/", views.Checkout.as_view(), name="checkout"),
    path("trial/", views.StartTrial.as_view(), name="trial"),
    path("portal/", views.Portal.as_view(), name="portal"),
    path("cancel/", views.Cancel.as_view(), name="cancel"),
    path("resume/", views.Resume.as_view(), name="resume"),
    path("change/", views.Change.as_view(), name="change"),
    path("local/checkout/<str:token>/", views.LocalCheckout.as_view(), name="local_checkout"),
]
