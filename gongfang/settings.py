"""Settings for the server, the edge node and the bridge (pydantic-settings).

Each reads environment variables with its own prefix (``GONGFANG_SERVER_``,
``GONGFANG_EDGE_``, ``GONGFANG_BRIDGE_``) and, when given, a TOML file: a table named
``[server]``, ``[edge]`` or ``[bridge]`` in it, or the top level when the table is absent.
Precedence: explicit keyword arguments > environment > TOML file > defaults. The defaults
are the embedded ones: SQLite under the data directory and an in-process MQTT broker.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from gongfang.mqtt_setup import MqttEndpoint, MqttSetupError, read_credentials

#: ``mqtt_url`` value that means "start an in-process broker" (the demo's default).
EMBEDDED_MQTT = "embedded://"
DEFAULT_SECRET = "change-me-gongfang-dev-secret"  # noqa: S105 - a sentinel that is refused


def data_dir() -> Path:
    """Where embedded databases, outboxes and receipts live (``GONGFANG_HOME``)."""
    return Path(os.environ.get("GONGFANG_HOME", Path.home() / ".local" / "share" / "gongfang"))


def default_server_db_url() -> str:
    return f"sqlite:///{data_dir() / 'server.db'}"


class ConfigError(Exception):
    """A settings file or value is unusable; the message says which and why."""


class _TomlSection(PydanticBaseSettingsSource):
    """Reads one table of a TOML file (or its top level when that table is absent)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None, section: str):
        super().__init__(settings_cls)
        self._data: dict[str, Any] = {}
        if path is None:
            return
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"配置文件不存在 / config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"配置文件格式错误 / bad TOML in {path}: {exc}") from exc
        table = doc.get(section, doc)
        self._data = table if isinstance(table, dict) else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class _Base(BaseSettings):
    """Common loader: ``Cls.load(config_file=…, **overrides)``."""

    section: ClassVar[str] = ""
    _config_file: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = _TomlSection(settings_cls, cls._config_file, cls.section)
        return (init_settings, env_settings, toml)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> Self:
        """Build settings from overrides, env and an optional TOML file.

        ``None`` overrides are dropped so CLI options left unset fall through to env/TOML.
        """
        # pydantic-settings has no per-instance source argument; a class attribute set
        # for the duration of construction is the documented way to feed a custom source.
        cls._config_file = config_file
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        finally:
            cls._config_file = None


MISSING_FIELD_KEY = (
    "未设置字段密钥（农户银行账号和手机号加密存储），拒绝启动。请用 "
    "`gongfang server new-field-key` 生成一个并设置 GONGFANG_SERVER_FIELD_KEY，"
    "或在开发时设置 GONGFANG_SERVER_DEV_MODE=1。 / No field key (farmers' bank accounts and "
    "phone numbers are stored encrypted): make one with `gongfang server new-field-key` and "
    "set GONGFANG_SERVER_FIELD_KEY (or dev_mode for development)."
)


def dev_field_key(secret: str) -> str:
    """The field key of a dev_mode server that has none, derived from its secret.

    A demo's secret is public, so its farmers' numbers are readable by anyone: dev only.
    """
    digest = hashlib.sha256(b"gongfang field key v1\0" + secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def _split_keys(value: object) -> object:
    """``field_keys_old`` from the environment: a JSON list or comma-separated keys."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [k.strip() for k in text.split(",") if k.strip()]


class FieldKeySettings(_Base):
    """The keys of the farmers' bank accounts and phone numbers at rest (Fernet).

    ``field_key`` seals new values; ``field_keys_old`` are still read (during a rotation,
    until ``gongfang server rotate-field-key`` has re-sealed every row). The CLI's import,
    export and rotation read only these, so they need no server secret.
    """

    section: ClassVar[str] = "server"
    # hide_input_in_errors: a refused value may be a key; the error must not print it.
    model_config = SettingsConfigDict(
        env_prefix="GONGFANG_SERVER_", extra="ignore", hide_input_in_errors=True
    )

    secret_key: str = DEFAULT_SECRET
    dev_mode: bool = False
    field_key: SecretStr | None = None
    field_keys_old: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)

    _split = field_validator("field_keys_old", mode="before")(_split_keys)

    @model_validator(mode="after")
    def _valid_field_keys(self) -> Self:
        if self.field_keys_old and self.field_key is None:
            raise ValueError(
                "设置了旧字段密钥却没有新密钥 / field_keys_old is set but field_key is not"
            )
        named = [("field_key", self.field_key)] + [
            (f"field_keys_old[{i}]", k) for i, k in enumerate(self.field_keys_old)
        ]
        for name, key in named:
            if key is not None and not _is_fernet_key(key.get_secret_value()):
                raise ValueError(
                    f"{name} 不是有效的字段密钥 / {name} is not a valid field key (32 bytes in "
                    "url-safe base64; make one with `gongfang server new-field-key`)"
                )
        return self

    def field_keys(self) -> list[str]:
        """The keys, the sealing one first; in dev_mode without one, the derived key."""
        if self.field_key is not None:
            return [self.field_key.get_secret_value()] + [
                k.get_secret_value() for k in self.field_keys_old
            ]
        if self.dev_mode:
            return [dev_field_key(self.secret_key)]
        raise ConfigError(MISSING_FIELD_KEY)


class ServerSettings(FieldKeySettings):
    """Central server settings (``GONGFANG_SERVER_*``)."""

    section: ClassVar[str] = "server"
    model_config = SettingsConfigDict(
        env_prefix="GONGFANG_SERVER_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(default_factory=default_server_db_url)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    market_fallback_days: int = Field(default=3, ge=0, le=30)
    max_batch_lots: int = Field(default=1000, ge=1)
    token_ttl_minutes: int = Field(default=12 * 60, ge=1)
    # Failed sign-in counters (server/auth/throttle.py): memory:// per worker, or a shared
    # redis://host:6379 for several workers.
    sign_in_rate_storage: str = "memory://"
    # Reverse proxies whose X-Forwarded-* headers are believed (comma-separated IPs or CIDRs).
    trusted_proxies: str = "127.0.0.1"
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)  # larger bodies get 413
    auto_migrate: bool = True  # create_app() brings the database to the latest migration
    # Lot photos from the stations, content-addressed: photos_dir/<sha[:2]>/<sha>.jpg.
    photos_dir: Path = Field(default_factory=lambda: data_dir() / "photos")
    photo_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Self:
        if self.secret_key == DEFAULT_SECRET and not self.dev_mode:
            raise ValueError(
                "服务器使用了默认密钥，拒绝启动。请设置 GONGFANG_SERVER_SECRET_KEY，"
                "或在开发时设置 GONGFANG_SERVER_DEV_MODE=1。 / Refusing to start with the "
                "default secret: set GONGFANG_SERVER_SECRET_KEY (or dev_mode for development)."
            )
        if len(self.secret_key) < 16:
            raise ValueError("secret_key must be at least 16 characters / 密钥至少 16 个字符")
        if self.field_key is None and not self.dev_mode:
            raise ValueError(MISSING_FIELD_KEY)
        return self


RoomProfileName = Literal["strawberry", "ruoye"]
_STRAWBERRY: RoomProfileName = "strawberry"


class EdgeLane(BaseModel):
    """One sorting lane of a station: its scale, camera and scanner share the lane id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    product: Literal["strawberry", "ruoye"] = "strawberry"
    tare_g: int = Field(default=0, ge=0)  # default crate tare when no crate type is given
    crate: str | None = None  # crate type looked up in the tare table (edge.weighing.tare)
    cold_room: str | None = None  # where this lane's lots are put


class MqttAccess(BaseModel):
    """How a client signs in to its MQTT broker (the URL may carry ``user:password@`` too).

    ``mqtt_credentials_file`` is the TOML ``gongfang mqtt-config`` writes (``[users]`` name →
    password); a client whose own password is unset looks its user name up there.
    """

    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_credentials_file: Path | None = None
    mqtt_ca_file: Path | None = None  # CA for mqtts:// (default: the system's)
    mqtt_cert_file: Path | None = None  # client certificate, with mqtt_key_file
    mqtt_key_file: Path | None = None

    def mqtt_endpoint(self, url: str, *, username: str | None = None) -> MqttEndpoint:
        """The broker at ``url`` signed in as ``username`` (default: ``mqtt_username``)."""
        user = username or self.mqtt_username
        password = self.mqtt_password
        if password is None and user and self.mqtt_credentials_file is not None:
            password = read_credentials(self.mqtt_credentials_file).get(user)
        try:
            return MqttEndpoint.from_url(
                url, username=user, password=password, ca_file=self.mqtt_ca_file,
                cert_file=self.mqtt_cert_file, key_file=self.mqtt_key_file,
            )
        except MqttSetupError as exc:
            raise ConfigError(str(exc)) from exc


class EdgeSettings(_Base, MqttAccess):
    """Station edge-node settings (``GONGFANG_EDGE_*``)."""

    section: ClassVar[str] = "edge"
    model_config = SettingsConfigDict(env_prefix="GONGFANG_EDGE_", extra="ignore")

    station: str = "demo-station"
    mqtt_url: str = EMBEDDED_MQTT
    # False: plain paho instead of the faster client in edge/mqtt/_paho_fast.py (a way back
    # if a paho upgrade breaks the internals that module touches).
    mqtt_fast_path: bool = True
    server_url: str | None = None
    # Where farmers' phones reach the server's passbook pages (the receipt QR is
    # ``{public_base}/p/{token}``); default: server_url.
    public_base: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    api_key: str | None = None
    data_dir: Path = Field(default_factory=lambda: data_dir() / "edge")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8100, ge=0, le=65535)
    # Stable-weight detector.
    stable_window_ms: int = Field(default=1500, ge=100)
    stable_tolerance_g: int = Field(default=20, ge=0)
    min_load_g: int = Field(default=500, ge=0)
    zero_band_g: int = Field(default=50, ge=0)
    # Sync loop.
    sync_interval_s: float = Field(default=2.0, gt=0)
    sync_batch_size: int = Field(default=200, ge=1, le=1000)
    sync_max_backoff_s: float = Field(default=60.0, gt=0)
    printer: str | None = None  # e.g. "usb:0x0416:0x5011" or "serial:/dev/ttyUSB1"
    sync_timeout_s: float = Field(default=10.0, gt=0)
    directory_refresh_s: float = Field(default=300.0, gt=0)
    # Lot workflow: with no operator (simulator, demo) the model's grade is accepted as is.
    auto_confirm: bool = False
    lanes: list[EdgeLane] = Field(
        default_factory=lambda: [EdgeLane(id="lane1", tare_g=500, cold_room="room1")]
    )
    rooms: dict[str, RoomProfileName] = Field(
        default_factory=lambda: {"room1": _STRAWBERRY}
    )  # cold room id -> profile
    tick_interval_s: float = Field(default=1.0, gt=0)
    receipts_enabled: bool = True
    # Graded camera frames kept under data_dir/photos (the lots name them by hash), oldest
    # deleted past this many MB; 0 keeps none.
    photos_max_mb: int = Field(default=2048, ge=0)
    http_enabled: bool = True  # the operator status API; http_port 0 picks a free port

    @property
    def passbook_base(self) -> str | None:
        """The base URL of receipt QR links (public_base, else server_url; no trailing /)."""
        base = self.public_base or self.server_url
        return base.rstrip("/") if base else None


class BridgeSettings(_Base, MqttAccess):
    """Firmware bridge settings (``GONGFANG_BRIDGE_*``)."""

    section: ClassVar[str] = "bridge"
    model_config = SettingsConfigDict(env_prefix="GONGFANG_BRIDGE_", extra="ignore")

    station: str = "demo-station"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    offline_after_s: float = Field(default=5.0, gt=0)
    retry_interval_s: float = Field(default=2.0, gt=0)
