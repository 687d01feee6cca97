"""Station broker access against real Mosquitto: the files ``gongfang mqtt-config`` writes
refuse anonymous clients and keep each device to its own topics; a station broker bridges
the edge's topics to a central broker over TLS and queues them while that one is down."""

from __future__ import annotations

import json
import queue
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from firmware_bridge.broker_config import bridge_conf_text, station_conf_text, write_station_files
from firmware_bridge.config import parse_devices
from gongfang.mqtt_setup import (
    MqttClientSetup,
    MqttEndpoint,
    MqttSetupError,
    device_username,
    read_credentials,
)
from tests.services import Mosquitto

STATION = "st-acl"
DEVICES = parse_devices({"devices": [
    {"id": "scale-1", "protocol": "xk3190", "port": "loop://", "scale": "1"},
    {"id": "scale-2", "protocol": "xk3190", "port": "loop://", "scale": "2"},
    {"id": "probe-1", "protocol": "sht20", "port": "loop://", "room": "cold-1"},
]})
QUIET = "log_dest stderr\nlog_type error\nuser root\n"  # root: the test folder is 0700


def _client(endpoint: MqttEndpoint, name: str, got: queue.Queue | None = None,
            clean: bool = True) -> tuple[mqtt.Client, queue.Queue]:
    codes: queue.Queue = queue.Queue()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name,
                    protocol=mqtt.MQTTv311, clean_session=clean)
    MqttClientSetup(endpoint).configure(c)
    c.on_connect = lambda _c, _u, _f, rc, _p: codes.put(rc)
    if got is not None:
        c.on_message = lambda _c, _u, m: got.put((m.topic, m.payload))
    c.connect(endpoint.host, endpoint.port, 10)
    c.loop_start()
    return c, codes


def _connected(codes: queue.Queue) -> bool:
    rc = codes.get(timeout=10)
    return not rc.is_failure


@pytest.fixture(scope="module")
def station_broker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mqtt-station")
    write_station_files(folder, STATION, DEVICES, ["1"])
    broker = Mosquitto(lambda port, _d: station_conf_text(
        folder, port=port, bind="127.0.0.1").replace("persistence true", "persistence false")
        + QUIET).start()
    yield broker, read_credentials(folder / "credentials.toml")
    broker.close()


def _as(broker: Mosquitto, creds, device: str) -> MqttEndpoint:
    user = device_username(STATION, device)
    return MqttEndpoint.from_url(broker.url, username=user, password=creds[user])


def test_anonymous_and_wrong_password_are_refused(station_broker) -> None:
    broker, creds = station_broker
    _c, codes = _client(MqttEndpoint.from_url(broker.url), "anon")
    assert not _connected(codes)
    _c.loop_stop()
    bad = MqttEndpoint.from_url(broker.url, username=device_username(STATION, "scale-1"),
                                password="not-the-password")
    _c2, codes2 = _client(bad, "bad-pw")
    assert not _connected(codes2)
    _c2.loop_stop()


def test_a_device_publishes_only_its_own_topics(station_broker) -> None:
    broker, creds = station_broker
    got: queue.Queue = queue.Queue()
    edge, codes = _client(_as(broker, creds, "edge"), "edge", got)
    assert _connected(codes)
    edge.subscribe(f"gf/v1/{STATION}/#", qos=1)
    time.sleep(0.3)
    scale1, codes1 = _client(_as(broker, creds, "scale-1"), "scale-1")
    assert _connected(codes1)
    forged = json.dumps({"ts_ms": 1, "gross_g": 99_000, "seq": 1, "status": "ok"}).encode()
    # scale-1 forging scale 2's reading and a climate sample, then its own reading:
    scale1.publish(f"gf/v1/{STATION}/scale/2/reading", forged, qos=1).wait_for_publish(5)
    scale1.publish(f"gf/v1/{STATION}/coldroom/cold-1/climate", forged, qos=1).wait_for_publish(5)
    scale1.publish(f"gf/v1/{STATION}/edge/lot", forged, qos=1).wait_for_publish(5)
    scale1.publish(f"gf/v1/{STATION}/scale/1/reading", b"own", qos=1).wait_for_publish(5)
    topic, payload = got.get(timeout=5)
    assert (topic, payload) == (f"gf/v1/{STATION}/scale/1/reading", b"own")
    time.sleep(0.5)
    assert got.empty(), got.get_nowait()  # none of the forged messages arrived
    # the edge itself may not pose as a scale either
    edge.publish(f"gf/v1/{STATION}/scale/1/reading", forged, qos=1).wait_for_publish(5)
    edge.publish(f"gf/v1/{STATION}/edge/status", b"edge-ok", qos=1).wait_for_publish(5)
    assert got.get(timeout=5) == (f"gf/v1/{STATION}/edge/status", b"edge-ok")
    for c in (edge, scale1):
        c.disconnect()
        c.loop_stop()


def test_the_edge_link_signs_in_from_the_credentials_file(station_broker, tmp_path) -> None:
    from gongfang.settings import EdgeSettings

    broker, creds = station_broker
    folder = Path(str(broker.conf.read_text()).split("password_file ")[1].split()[0]).parent
    s = EdgeSettings(station=STATION, mqtt_credentials_file=folder / "credentials.toml")
    ep = s.mqtt_endpoint(broker.url, username=device_username(STATION, "edge"))
    assert ep.password is not None
    assert "credentials" not in repr(ep.password)
    from edge.mqtt.client import MqttLink

    got: queue.Queue = queue.Queue()
    link = MqttLink(url=broker.url, endpoint=ep, station=STATION, client_id="edge-link",
                    on_message=got.put, protocol="3.1.1")
    link.start()
    try:
        assert link.wait_connected(10)
        scale, codes = _client(_as(broker, creds, "scale-1"), "scale-1-link")
        assert _connected(codes)
        reading = {"ts_ms": 1, "gross_g": 1500, "seq": 1, "status": "ok"}
        scale.publish(f"gf/v1/{STATION}/scale/1/reading", json.dumps(reading), qos=0)
        inbound = got.get(timeout=5)
        while isinstance(inbound.payload, str):  # device status lines ("online")
            inbound = got.get(timeout=5)
        assert inbound.payload.gross_g == 1500
        scale.disconnect()
        scale.loop_stop()
    finally:
        link.stop()


def test_anonymous_or_plaintext_off_this_machine_is_refused() -> None:
    with pytest.raises(MqttSetupError, match="user name"):
        MqttEndpoint.from_url("mqtt://10.1.2.3:1883")
    with pytest.raises(MqttSetupError, match="TLS"):
        MqttEndpoint.from_url("mqtt://u:p@10.1.2.3:1883")
    ep = MqttEndpoint.from_url("mqtts://u:p%40ss@broker.example")
    assert (ep.port, ep.tls, ep.username) == (8883, True, "u")
    assert ep.password is not None
    assert ep.password.get_secret_value() == "p@ss"
    assert "p@ss" not in ep.describe()
    assert MqttEndpoint.from_url("mqtt://127.0.0.1:1883").username is None  # demo: anonymous


def _make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (openssl, Debian's)."""
    names = ("ca.key", "ca.crt", "s.key", "s.csr", "s.crt")
    ca_key, ca, key, csr, crt = (folder / n for n in names)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key),
        "-out", str(ca), "-days", "2", "-subj", "/CN=gongfang test CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1")
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext))
    return ca, crt, key


@pytest.mark.timeout(120)
def test_bridge_to_central_over_tls_survives_a_central_restart(tmp_path: Path) -> None:
    from firmware_bridge.broker_config import hash_password

    ca, crt, key = _make_ca(tmp_path)
    central_pw, reader_pw = "central-secret-1", "reader-secret-2"
    (tmp_path / "central.passwd").write_text(
        f"bridge-{STATION}:{hash_password(central_pw)}\nreader:{hash_password(reader_pw)}\n")
    central = Mosquitto(lambda port, d: (
        f"listener {port} 127.0.0.1\ncafile {ca}\ncertfile {crt}\nkeyfile {key}\n"
        f"allow_anonymous false\npassword_file {tmp_path / 'central.passwd'}\n"
        f"persistence true\npersistence_location {d}/\n" + QUIET)).start()
    folder = tmp_path / "station"
    write_station_files(folder, STATION, DEVICES, ["1"])
    bridge = bridge_conf_text(STATION, central=f"127.0.0.1:{central.port}", ca_file=ca,
                              username=f"bridge-{STATION}", password=central_pw)
    station = Mosquitto(lambda port, d: station_conf_text(folder, port=port, bind="127.0.0.1")
                        + QUIET + bridge).start()
    creds = read_credentials(folder / "credentials.toml")
    try:
        got: queue.Queue = queue.Queue()
        reader_ep = MqttEndpoint.from_url(f"mqtts://127.0.0.1:{central.port}", username="reader",
                                          password=reader_pw, ca_file=ca)
        reader, codes = _client(reader_ep, "central-reader", got, clean=False)
        assert _connected(codes)
        reader.subscribe(f"gf/v1/{STATION}/#", qos=1)
        time.sleep(0.3)
        edge, ecodes = _client(_as(station, creds, "edge"), "edge-bridge")
        assert _connected(ecodes)
        deadline = time.monotonic() + 20
        while True:  # the bridge connects on its own schedule: retry until one crosses
            edge.publish(f"gf/v1/{STATION}/edge/status", b"hello", qos=1).wait_for_publish(5)
            try:
                if got.get(timeout=1)[1] == b"hello":
                    break
            except queue.Empty:
                assert time.monotonic() < deadline, "nothing crossed the bridge"
        reader.disconnect()
        reader.loop_stop()
        central.stop()
        for i in range(5):  # queued by the station broker while the central one is down
            lot_msg = edge.publish(f"gf/v1/{STATION}/edge/lot", f"lot-{i}".encode(), qos=1)
            lot_msg.wait_for_publish(5)
        scale, scodes = _client(_as(station, creds, "scale-1"), "scale-bridge")
        assert _connected(scodes)
        scale.publish(f"gf/v1/{STATION}/scale/1/reading", b"not bridged", qos=1).wait_for_publish(5)
        central.start()
        got2: queue.Queue = queue.Queue()
        reader2, codes2 = _client(reader_ep, "central-reader", got2, clean=False)
        assert _connected(codes2)
        reader2.subscribe(f"gf/v1/{STATION}/#", qos=1)
        seen: list[bytes] = []
        deadline = time.monotonic() + 40
        while len([p for p in seen if p.startswith(b"lot-")]) < 5 and time.monotonic() < deadline:
            try:
                seen.append(got2.get(timeout=1)[1])
            except queue.Empty:
                pass
        assert [p for p in seen if p.startswith(b"lot-")] == [f"lot-{i}".encode() for i in range(5)]
        assert b"not bridged" not in seen  # only edge/# and device/# go out
        for c in (edge, scale, reader2):
            c.disconnect()
            c.loop_stop()
    finally:
        station.close()
        central.close()
