"""Settings: env prefixes, TOML file, and the default-secret guard."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from gongfang.settings import DEFAULT_SECRET, ConfigError, EdgeSettings, ServerSettings


def test_server_refuses_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONGFANG_SERVER_SECRET_KEY", raising=False)
    monkeypatch.delenv("GONGFANG_SERVER_DEV_MODE", raising=False)
    with pytest.raises(ValidationError, match="默认密钥"):
        ServerSettings.load()
    assert ServerSettings.load(dev_mode=True).secret_key == DEFAULT_SECRET


def test_env_beats_toml_and_toml_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "gf.toml"
    cfg.write_text(
        '[edge]\nstation = "jiande-1"\nmin_load_g = 800\n[server]\nport = 9000\n'
        'secret_key = "a-long-enough-real-secret"\n'
    )
    monkeypatch.setenv("GONGFANG_EDGE_MIN_LOAD_G", "900")
    edge = EdgeSettings.load(config_file=cfg)
    assert edge.station == "jiande-1"
    assert edge.min_load_g == 900
    assert EdgeSettings.load(config_file=cfg, station="x").station == "x"
    server = ServerSettings.load(config_file=cfg)
    assert server.port == 9000


def test_bad_toml_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("station = [")
    with pytest.raises(ConfigError, match="bad TOML"):
        EdgeSettings.load(config_file=cfg)
    with pytest.raises(ConfigError, match="not found"):
        EdgeSettings.load(config_file=tmp_path / "missing.toml")


def test_shipped_example_configs_load_and_agree() -> None:
    """examples/: the edge's lanes are the bridge's scales and its rooms the probes' rooms."""
    from firmware_bridge.config import load_config

    root = Path(__file__).resolve().parents[2] / "examples"
    edge = EdgeSettings.load(root / "station.toml")
    bridge, devices = load_config(root / "bridge.toml")
    assert edge.station == bridge.station
    scales = {getattr(d, "scale", None) for d in devices} - {None}
    rooms = {getattr(d, "room", None) for d in devices} - {None}
    assert {lane.id for lane in edge.lanes} == scales
    assert set(edge.rooms) == rooms
    assert {lane.cold_room for lane in edge.lanes} <= rooms
