"""Message catalogues: Chinese first, English by a switch kept in a cookie.

A catalogue folder holds ``zh.json`` and ``en.json``, flat ``{"key": "text {placeholder}"}``.
An app merges the kernel's folder with its own; a missing key shows the key itself (tests
check that both languages carry the same keys, so that never reaches a user).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "gf_lang"
KERNEL_LOCALE = Path(__file__).with_name("locale")

Translate = Callable[..., str]


class HasCookies(Protocol):
    """What :func:`request_lang` needs of a request (Starlette's Request or WebSocket)."""

    @property
    def cookies(self) -> Mapping[str, str]: ...


def request_lang(request: HasCookies) -> str:
    """The language the cookie asks for, else Chinese."""
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def read_catalogue(folder: Path, lang: str) -> dict[str, str]:
    """One language's flat catalogue of a folder ({} when the folder has none)."""
    path = folder / f"{lang}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"{path}: a catalogue is a flat object of strings")
    return data


@dataclass(frozen=True)
class Messages:
    """The merged catalogues of an app, per language."""

    by_lang: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, *folders: Path) -> Messages:
        """The kernel's catalogue, then each folder's (later folders win on a shared key)."""
        merged: dict[str, dict[str, str]] = {lang: {} for lang in LANGS}
        for folder in (KERNEL_LOCALE, *folders):
            for lang in LANGS:
                merged[lang].update(read_catalogue(Path(folder), lang))
        return cls(merged)

    def translator(self, lang: str) -> Translate:
        """``t(key, **values)`` for one language."""
        table = self.by_lang.get(lang) or self.by_lang[DEFAULT_LANG]

        def t(key: str, /, **values: object) -> str:
            text = table.get(key, key)
            if not values:
                return text
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                return text

        return t
