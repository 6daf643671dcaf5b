from django.urls import path

from kernel.consumers import KernelConsumer

websocket_urlpatterns = [
    path("ws/", KernelConsumer.as_asgi()),
]
