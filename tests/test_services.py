"""The fixtures themselves talk to real servers."""

import threading

import paho.mqtt.client as mqtt
import psycopg
import sqlalchemy as sa

from tests.services import Mosquitto, Postgres


def test_mosquitto_round_trip(mosquitto: Mosquitto) -> None:
    got = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: got.set() if m.payload == b"hi" else None
    c.connect("127.0.0.1", mosquitto.port)
    c.loop_start()
    try:
        c.subscribe("t/#", qos=1)
        c.publish("t/x", b"hi", qos=1).wait_for_publish(5)
        assert got.wait(5)
    finally:
        c.loop_stop()
        c.disconnect()


def test_postgres_new_database(postgres: Postgres) -> None:
    url = postgres.new_database()
    eng = sa.create_engine(url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("select 1 + 1")).scalar_one() == 2
    eng.dispose()
    with psycopg.connect(f"host=127.0.0.1 port={postgres.port} user=postgres") as conn:
        assert conn.execute("show fsync").fetchone() == ("off",)
