"""A station broker's access files from the station's own configuration.

From the bridge config (its devices) and the edge config (its lanes), make:
- ``passwd``: one Mosquitto user per device and one for the edge node, each with a random
  password, hashed the way ``mosquitto_passwd`` does (PBKDF2-SHA512, ``$7$``);
- ``acl``: each device may publish only its own topics, the edge node read the station's
  topics and publish its own; nothing else, nobody anonymous;
- ``credentials.toml`` (mode 0600): the clear passwords, for the bridge and the edge
  (``mqtt_credentials_file``);
- ``station.conf``: the Mosquitto listener using both, and ``bridge-central.conf``: the
  bridge of ``edge/#`` and ``device/#`` out to the central broker over TLS, queued while
  the link is down.
Pure functions build the texts; :func:`write_station_files` is the only one touching disk.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.config import ClimateDeviceConfig, DeviceConfig
from gongfang import wire
from gongfang.mqtt_setup import device_username

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's own default; passwords here are random 32-byte tokens
EDGE_DEVICE = "edge"


@dataclass(frozen=True)
class BrokerUser:
    """One sign-in and the topics it may publish (``write``) and read (``read``)."""

    name: str
    write: tuple[str, ...]
    read: tuple[str, ...] = ()


def station_users(
    station: str, devices: list[DeviceConfig], lanes: list[str]
) -> list[BrokerUser]:
    """The bridge's devices, a camera and a scanner per lane, and the edge node."""
    t = wire.Topics(station)
    users: list[BrokerUser] = []
    for d in devices:
        own = (
            (f"{t.base}/coldroom/{d.room}/climate", f"{t.base}/coldroom/{d.room}/door")
            if isinstance(d, ClimateDeviceConfig)
            else (t.scale_reading(d.scale),)
        )
        users.append(BrokerUser(device_username(station, d.id), (*own, t.device_status(d.id))))
    for lane in lanes:
        for kind, topic in (("camera", t.camera_frame(lane)), ("scanner", t.scanner_code(lane))):
            dev = f"{kind}-{lane}"
            users.append(BrokerUser(device_username(station, dev), (topic, t.device_status(dev))))
    users.append(
        BrokerUser(
            device_username(station, EDGE_DEVICE),
            write=(f"{t.base}/edge/#", t.device_status(EDGE_DEVICE)),
            read=(f"{t.base}/#",),
        )
    )
    return users


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A ``mosquitto_passwd`` line's hash part: ``$7$iterations$salt$hash`` (base64)."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def passwd_text(passwords: dict[str, str]) -> str:
    return "".join(f"{name}:{hash_password(pw)}\n" for name, pw in sorted(passwords.items()))


def acl_text(users: list[BrokerUser]) -> str:
    lines = ["# gongfang mqtt-config: each user may publish only its own topics."]
    for u in users:
        lines.append(f"\nuser {u.name}")
        lines += [f"topic write {topic}" for topic in u.write]
        lines += [f"topic read {topic}" for topic in u.read]
    return "\n".join(lines) + "\n"


def credentials_text(passwords: dict[str, str]) -> str:
    rows = "".join(f'"{name}" = "{pw}"\n' for name, pw in sorted(passwords.items()))
    return "# MQTT passwords of this station's clients (keep private: mode 0600)\n[users]\n" + rows


def station_conf_text(folder: Path, *, port: int = 1883, bind: str = "0.0.0.0") -> str:  # noqa: S104
    return (
        "# gongfang station broker (Mosquitto 2): sign-in and ACL for every client\n"
        "per_listener_settings false\n"
        f"listener {port} {bind}\n"
        "allow_anonymous false\n"
        f"password_file {folder / 'passwd'}\n"
        f"acl_file {folder / 'acl'}\n"
        "persistence true\n"
        f"persistence_location {folder / 'data'}/\n"
    )


def bridge_conf_text(
    station: str, *, central: str, ca_file: Path, username: str, password: str
) -> str:
    """The station broker's bridge to the central one: edge and device topics out, QoS 1,
    kept in the station broker's persistent queue while the link is down."""
    base = wire.Topics(station).base
    return (
        f"# bridge {station} → central broker (append to the station broker's config)\n"
        f"connection gf-{station}-central\n"
        f"address {central}\n"
        f"remote_clientid gf-bridge-{station}\n"
        f"remote_username {username}\n"
        f"remote_password {password}\n"
        f"bridge_cafile {ca_file}\n"
        "bridge_protocol_version mqttv311\n"
        "cleansession false\n"
        "restart_timeout 2 30\n"
        "max_queued_messages 100000\n"
        "try_private true\n"
        f"topic {base}/edge/# out 1\n"
        f"topic {base}/device/# out 1\n"
    )


def write_station_files(
    out: Path, station: str, devices: list[DeviceConfig], lanes: list[str]
) -> list[BrokerUser]:
    """Write passwd, acl, credentials.toml and station.conf under ``out``; the users."""
    users = station_users(station, devices, lanes)
    passwords = {u.name: secrets.token_urlsafe(32) for u in users}
    out.mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(exist_ok=True)
    (out / "passwd").write_text(passwd_text(passwords))
    (out / "acl").write_text(acl_text(users))
    cred = out / "credentials.toml"
    fd = os.open(cred, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(credentials_text(passwords))
    os.chmod(cred, 0o600)
    (out / "station.conf").write_text(station_conf_text(out.resolve()))
    return users
