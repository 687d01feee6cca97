"""How a paho client reaches a broker: address, TLS and sign-in, from a URL and settings.

``MqttEndpoint.from_url("mqtts://user:pass@host:8883", ca_file=…)`` is pure data; one
:class:`MqttClientSetup` applies it to a paho client, for the edge and the bridge alike.
Anonymous or plaintext sign-in is accepted only towards a broker on this machine (the
embedded demo broker, a test's broker): across a network every client signs in, and a
password only travels inside TLS.
"""

from __future__ import annotations

import ssl
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from gongfang.netaddr import is_loopback

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

PLAIN_SCHEMES = {"mqtt": 1883, "tcp": 1883}
TLS_SCHEMES = {"mqtts": 8883, "ssl": 8883}


def device_username(station: str, device: str) -> str:
    """The broker user name of one device (``edge`` for the station's edge node)."""
    return f"{station}-{device}"


class MqttSetupError(ValueError):
    """The MQTT address or its credentials cannot be used as given."""


@dataclass(frozen=True)
class MqttEndpoint:
    """Where and how to connect: host, port, TLS files, user name and password."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: SecretStr | str | None = None,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
    ) -> MqttEndpoint:
        """``mqtt://`` / ``tcp://`` (1883) or ``mqtts://`` / ``ssl://`` (8883), optionally
        with ``user:password@``; explicit arguments win over the URL's."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in PLAIN_SCHEMES and scheme not in TLS_SCHEMES:
            raise MqttSetupError(
                f"MQTT 地址应为 mqtt://主机:端口 或 mqtts://主机:端口 / an MQTT URL looks like "
                f"mqtt://host:port or mqtts://host:port, got {redact(url)!r}"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise MqttSetupError(f"MQTT 端口无效 / bad MQTT port in {redact(url)!r}") from exc
        tls = scheme in TLS_SCHEMES
        url_user = unquote(parts.username) if parts.username else None
        url_pass = SecretStr(unquote(parts.password)) if parts.password else None
        if isinstance(password, str):
            password = SecretStr(password)
        endpoint = cls(
            host=parts.hostname or "127.0.0.1",
            port=port or (TLS_SCHEMES[scheme] if tls else PLAIN_SCHEMES[scheme]),
            tls=tls,
            username=username or url_user,
            password=password or url_pass,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
        )
        endpoint.check()
        return endpoint

    def with_credentials(self, username: str | None, password: SecretStr | None) -> MqttEndpoint:
        """The same broker, signing in as ``username`` (kept as is where None)."""
        return replace(self, username=username or self.username, password=password or self.password)

    @property
    def local(self) -> bool:
        return is_loopback(self.host)

    def check(self) -> None:
        """Refuse what would leak or let anyone in: anonymous or plaintext off this machine."""
        if (self.cert_file is None) != (self.key_file is None):
            raise MqttSetupError(
                "客户端证书和私钥需同时提供 / client certificate and key go together"
            )
        if (self.ca_file or self.cert_file) and not self.tls:
            raise MqttSetupError("证书文件需配合 mqtts:// 使用 / CA and certificate files need mqtts://")
        if self.local:
            return
        if self.username is None and self.cert_file is None:
            raise MqttSetupError(
                f"连接 {self.host} 的 MQTT 需要用户名和密码 / the MQTT broker at {self.host} "
                "is not on this machine: set a user name and password (or a client certificate)"
            )
        if self.password is not None and not self.tls:
            raise MqttSetupError(
                f"密码只能通过 TLS 发送，请用 mqtts:// / a password to {self.host} must travel "
                "over TLS: use mqtts://"
            )

    def describe(self) -> str:
        """The address for logs and errors, never the password."""
        scheme = "mqtts" if self.tls else "mqtt"
        who = f"{self.username}@" if self.username else ""
        return f"{scheme}://{who}{self.host}:{self.port}"


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def read_credentials(path: Path) -> dict[str, SecretStr]:
    """``[users]`` of a credentials TOML (``gongfang mqtt-config`` writes it): name → password."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MqttSetupError(
            f"无法读取 MQTT 凭据 / cannot read MQTT credentials {path}: {exc}"
        ) from exc
    users = doc.get("users", {})
    if not isinstance(users, dict) or not all(isinstance(v, str) for v in users.values()):
        raise MqttSetupError(f"{path}: [users] must map user names to password strings")
    return {str(k): SecretStr(v) for k, v in users.items()}


class MqttClientSetup:
    """Applies an endpoint's sign-in and TLS to a paho client (before it connects)."""

    def __init__(self, endpoint: MqttEndpoint) -> None:
        self.endpoint = endpoint

    def configure(self, client: mqtt.Client) -> None:
        ep = self.endpoint
        if ep.username is not None:
            secret = ep.password.get_secret_value() if ep.password is not None else None
            client.username_pw_set(ep.username, secret)
        if ep.tls:
            context = ssl.create_default_context(
                cafile=str(ep.ca_file) if ep.ca_file else None
            )
            if ep.cert_file is not None and ep.key_file is not None:
                context.load_cert_chain(str(ep.cert_file), str(ep.key_file))
            client.tls_set_context(context)
