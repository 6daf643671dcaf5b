from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.page, name="page"),
    path("plans/", views.plans, name="plans"),
    path("checkout/", views.checkout, name="checkout"),
    path("portal/", views.portal, name="portal"),
    path("cancel/", views.cancel, name="cancel"),
    path("resume/", views.resume, name="resume"),
    path("change/", views.change, name="change"),
    path("local/checkout/<str:token>/", views.local_checkout, name="local_checkout"),
]
