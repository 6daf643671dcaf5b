"""A name → entry table that the domain manifests fill at start-up and that is then frozen."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.core.exceptions import ImproperlyConfigured


class Registry[V](Mapping[str, V]):
    """Read like a mapping; `add` only until `freeze()` (kernel/manifest.py does both)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, V] = {}
        self.frozen = False

    def add(self, name: str, entry: V) -> None:
        if self.frozen:
            raise ImproperlyConfigured(
                f"The {self.what} registry is frozen: declare {name!r} in a domain manifest."
            )
        if name in self._entries:
            raise ImproperlyConfigured(f"{self.what} {name!r} is declared twice.")
        self._entries[name] = entry

    def freeze(self) -> None:
        self.frozen = True

    def __getitem__(self, name: str) -> V:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "open"
        return f"<{self.what} registry, {len(self)} entries, {state}>"
