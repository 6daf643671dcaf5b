from django.urls import path

from ${app} import views

urlpatterns = [
    path("", views.ListPage.as_view(), name="${app}_list"),
    path("<int:${ref}>/", views.DetailPage.as_view(), name="${app}_detail"),
    path("<int:${ref}>/delete/", views.DeletePage.as_view(), name="${app}_delete"),
]
