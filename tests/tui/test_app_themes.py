"""Themes from TOML files: the shipped three load, a user theme adds to or replaces them, a broken file is
reported and skipped; and the first-run screen offers the scripted demo when no provider is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.rig import RuntimeRig, open_rig
from waits import until

from life_tui.runtime.session import Session
from life_tui.tui.app import Launch, LifeApp
from life_tui.tui.screens.first_run import FirstRunScreen
from life_tui.tui.theme import load_themes, theme_from_toml


def test_the_shipped_themes_load_and_user_themes_add_or_replace(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "mine"\nprimary = "#123456"\ndark = false\n')
    (tmp_path / "life-dark.toml").write_text('name = "life-dark"\nprimary = "#FF0000"\n')
    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    found = load_themes(tmp_path)
    assert {"life-dark", "life-light", "life-high-contrast", "mine"} <= set(found.themes)
    assert found.themes["life-dark"].primary == "#FF0000" and not found.themes["mine"].dark
    assert len(found.problems) == 1 and "broken.toml" in found.problems[0]


def test_theme_files_are_checked() -> None:
    with pytest.raises(ValueError, match="needs a primary"):
        theme_from_toml('name = "x"\n', source="x.toml")
    with pytest.raises(ValueError, match="unknown keys colour"):
        theme_from_toml('name = "x"\nprimary = "#fff"\ncolour = "#000"\n', source="x.toml")


async def test_every_shipped_theme_applies_live(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        session, _ = await rig.session()

        async def opener() -> Session:
            return session

        app = LifeApp(Launch(opener=opener))
        async with app.run_test(size=(100, 30)) as pilot:
            for name in ("life-light", "life-high-contrast", "life-dark"):
                app.theme = name
                await pilot.pause()
                assert app.current_theme.name == name
            await pilot.press("f9")
            assert app.theme != "life-dark"


async def test_first_run_offers_the_scripted_demo(tmp_path: Path) -> None:
    async with open_rig(RuntimeRig, tmp_path, {}) as rig:
        opened: list[Session] = []

        async def demo() -> Session:
            session, _ = await rig.session()
            opened.append(session)
            return session

        app = LifeApp(Launch(opener=None, not_configured_hint="set ANTHROPIC_API_KEY", demo_opener=demo))
        async with app.run_test(size=(100, 30)) as pilot:
            # Pushed once the modules deferred past the first frame have loaded (on a thread: slow under load).
            await until(pilot, lambda: isinstance(app.screen, FirstRunScreen), "the first-run screen")
            await pilot.press("enter")
            await until(pilot, lambda: app.session is not None, "the demo session to open")
            assert opened and app.session is opened[0]
