"""``life-tui state``: the homeostasis of a real session, printed from the journal by the installed CLI.

A funded wallet drained by priced scripted turns must show in the economic pillar and the gating profile
exactly as the runtime regulated it (the same fold and controller)."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import EXE, cli, one_line_error

from life_tui.errors import ExitCode


def script(path: Path, costs: list[float]) -> Path:
    turns = [{"text": f"answer {i}", "cost_usd": c} for i, c in enumerate(costs)]
    path.write_text(json.dumps({"model": "scripted-pro", "turns": turns}), encoding="utf-8")
    return path


def test_state_prints_the_pillars_modes_and_profile(tmp_path: Path, life_home: Path) -> None:
    assert EXE.exists()
    cli("wallet", "fund", "1.00")
    cli("--headless", "--provider", f"scripted:{script(tmp_path / 'one.json', [0.5])}", "one")
    # Each process starts its script again: the session's second call costs 0.5 too, draining the balance.
    cli("--headless", "--provider", f"scripted:{script(tmp_path / 'two.json', [0.5])}", "--continue", "two")
    third = cli(
        "--headless", "--provider", f"scripted:{script(tmp_path / 'three.json', [0.5])}", "--continue", "3", check=None
    )
    assert third.returncode == ExitCode.BLOCKED, third.stderr  # hibernating: no model call is made
    document = json.loads(cli("state", "--json").stdout)
    economic = document["state"]["economic"]
    assert economic["session_spend_micro"] == 1_000_000
    assert economic["balance_micro"] == 0
    assert economic["mode"] == "hibernate" and document["profile"]["skip_model"] is True
    text = cli("state").stdout
    assert "economic" in text and "hibernate" in text and "skipped (hibernate)" in text
    assert "operational" in text and "cognitive" in text and "gating profile" in text


def test_state_of_an_unknown_session_is_a_clear_error(life_home: Path) -> None:
    cli("init")
    line = one_line_error(cli("state", "nope", check=None), ExitCode.NOT_FOUND)
    assert "nope" in line
