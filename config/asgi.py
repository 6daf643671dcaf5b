"""HTTP and WebSocket on one ASGI application (served by daphne)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the imports below

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.checks import refuse_to_serve_on_errors  # noqa: E402
from config.metrics import CountSockets  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from kernel.live.flow import WriteGateMiddleware  # noqa: E402
from kernel.live.origin import BrowserOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # A browser's Origin must be one of our hosts; programs send none (API keys).
        "websocket": CountSockets(
            WriteGateMiddleware(
                BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)

refuse_to_serve_on_errors()

# Full garbage collections stop every socket of the process while they scan the heap:
# measured with 1,000 live sockets, 160-225 ms each. Everything loaded so far lives as
# long as the process, so take it out of the scans (65-95 ms each after this); and
# collect the young generation every 20,000 allocations rather than 2,000, so that the
# short-lived objects of each fan-out are not promoted towards the full collection. With
# both, 60 rounds of 1,000 subscribers saw no stall (p99 71-93 ms instead of 101-310).
gc.freeze()
gc.set_threshold(20_000, 10, 10)
