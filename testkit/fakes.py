"""A translator for tests: knows the pairs it is given, marks what it translated, fails loudly otherwise."""

from __future__ import annotations

from bot.translation.port import NoTranslationPath, Route, Translation, find_route


class FakeTranslator:
    def __init__(self, pairs: set[tuple[str, str]]) -> None:
        self.pairs = set(pairs)
        self.calls: list[tuple[str, str, str]] = []

    def route(self, source: str, target: str) -> Route | None:
        return find_route(self.pairs, source, target)

    async def translate(self, text: str, source: str, target: str) -> Translation:
        route = self.route(source, target)
        if route is None:
            raise NoTranslationPath(f"no model translates {source} to {target}")
        self.calls.append((text, source, target))
        out = text
        for hop_source, hop_target in route.hops:
            out = f"[{hop_source}>{hop_target}] {out}"
        return Translation(out, source, target, route)
