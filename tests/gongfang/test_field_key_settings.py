"""The field key (farmers' sealed bank accounts and phones): refused when missing outside
dev_mode, checked for shape, old keys from a comma list or JSON, none of it printed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from gongfang.settings import (
    ConfigError,
    FieldKeySettings,
    ServerSettings,
    dev_field_key,
)

SECRET = "a-long-enough-test-secret"


def test_the_server_refuses_to_start_without_a_field_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GONGFANG_SERVER_FIELD_KEY", raising=False)
    with pytest.raises(ValidationError, match="GONGFANG_SERVER_FIELD_KEY"):
        ServerSettings.load(secret_key=SECRET)
    with pytest.raises(ConfigError, match="new-field-key"):
        FieldKeySettings.load().field_keys()
    # dev_mode (the demo): a key derived from the secret, the same on every start.
    keys = ServerSettings.load(dev_mode=True).field_keys()
    assert keys == [dev_field_key(ServerSettings.load(dev_mode=True).secret_key)]
    assert Fernet(keys[0])  # a usable key


def test_keys_are_checked_and_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "not-a-fernet-key-but-a-secret"
    with pytest.raises(ValidationError) as err:
        ServerSettings.load(secret_key=SECRET, field_key=bad)
    assert "field_key is not a valid field key" in str(err.value)
    assert bad not in str(err.value)
    assert SECRET not in str(err.value)
    monkeypatch.delenv("GONGFANG_SERVER_FIELD_KEY", raising=False)
    good = Fernet.generate_key().decode()
    with pytest.raises(ValidationError, match="field_keys_old is set but field_key is not"):
        FieldKeySettings.load(field_keys_old=[good])
    with pytest.raises(ValidationError, match=r"field_keys_old\[1\] is not a valid"):
        ServerSettings.load(secret_key=SECRET, field_key=good, field_keys_old=[good, bad])
    settings = ServerSettings.load(secret_key=SECRET, field_key=good)
    assert good not in repr(settings)
    assert good not in str(settings.model_dump())


def test_old_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    new, a, b = (Fernet.generate_key().decode() for _ in range(3))
    monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEY", new)
    monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEYS_OLD", f"{a}, {b}")
    assert FieldKeySettings.load().field_keys() == [new, a, b]
    monkeypatch.setenv("GONGFANG_SERVER_FIELD_KEYS_OLD", f'["{b}"]')
    assert ServerSettings.load(secret_key=SECRET).field_keys() == [new, b]
