"""Provider specs and selection (flag > config > environment), settings from TOML, the scripted provider's
script format, and the price table."""

from __future__ import annotations

from pathlib import Path

import pytest

from life_tui.errors import InvalidInput
from life_tui.finance.pricing import CONSERVATIVE, PRICES, Price, cost_usd, price_for
from life_tui.runtime.config import Settings, load_settings
from life_tui.runtime.providers import (
    DEFAULT_MODELS,
    HOW_TO_CONFIGURE,
    NotConfigured,
    ProviderSpec,
    build,
    choose,
    detect,
)
from life_tui.runtime.providers.base import ModelRequest, ModelResponse, ProviderError, TextDelta, Usage
from life_tui.runtime.providers.scripted import ScriptedProvider, load_script


# -------------------------------------------------------------------------------------- provider specs
@pytest.mark.parametrize(
    ("text", "name", "model", "shown"),
    [
        ("anthropic:claude-opus-4-1", "anthropic", "claude-opus-4-1", "anthropic:claude-opus-4-1"),
        ("OpenAI:gpt-4.1", "openai", "gpt-4.1", "openai:gpt-4.1"),
        ("ollama", "ollama", None, "ollama"),
        (" ollama:llama3.2:8b ", "ollama", "llama3.2:8b", "ollama:llama3.2:8b"),
        ("scripted:demo", "scripted", "demo", "scripted:demo"),
        ("scripted:/tmp/a.yaml", "scripted", "/tmp/a.yaml", "scripted:/tmp/a.yaml"),
        ("replay:01ABC@main", "replay", "01ABC@main", "replay:01ABC@main"),
        ("anthropic:", "anthropic", None, "anthropic"),
    ],
)
def test_provider_specs_parse(text: str, name: str, model: str | None, shown: str) -> None:
    spec = ProviderSpec.parse(text)
    assert (spec.name, spec.model, str(spec)) == (name, model, shown)


@pytest.mark.parametrize("text", ["gemini:pro", "", ":gpt-4.1", "anthropic-ish"])
def test_unknown_providers_are_rejected_with_the_known_ones(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        ProviderSpec.parse(text)
    assert "anthropic, openai, ollama, scripted, replay" in str(err.value)


def test_choose_precedence_flag_then_config_then_environment() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-test", "OPENAI_API_KEY": "sk-o"}
    assert choose("ollama:qwen", "openai:gpt-4.1", env=env) == ProviderSpec("ollama", "qwen")
    assert choose(None, "openai:gpt-4.1", env=env) == ProviderSpec("openai", "gpt-4.1")
    assert choose(None, None, env=env) == ProviderSpec("anthropic")
    assert choose(None, None, env={"OPENAI_API_KEY": "sk-o"}) == ProviderSpec("openai")
    assert choose(None, None, env={"OPENAI_BASE_URL": "http://localhost:8000/v1"}) == ProviderSpec("openai")
    # A model given apart (--model, LIFE_MODEL) replaces the spec's.
    assert choose("anthropic:claude-haiku-4-5", None, model="claude-opus-4-1", env={}) == ProviderSpec(
        "anthropic", "claude-opus-4-1"
    )
    assert choose(None, None, model="gpt-4o", env=env) == ProviderSpec("anthropic", "gpt-4o")
    assert detect({}) is None
    assert detect({"ANTHROPIC_API_KEY": ""}) is None


def test_nothing_configured_says_how_to_configure() -> None:
    with pytest.raises(NotConfigured) as err:
        choose(None, None, env={})
    assert err.value.hint == HOW_TO_CONFIGURE
    assert "scripted:demo" in str(err.value) and "ANTHROPIC_API_KEY" in str(err.value)


def test_settings_and_environment_feed_choose(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[defaults]\nprovider = "openai:gpt-4.1"\n')
    env = {"ANTHROPIC_API_KEY": "sk"}
    settings = load_settings(config, env=env)
    assert choose(None, settings.defaults.provider, settings.defaults.model, env=env) == ProviderSpec(
        "openai", "gpt-4.1"
    )
    # LIFE_PROVIDER / LIFE_MODEL override the file; a flag overrides both.
    env = {**env, "LIFE_PROVIDER": "ollama", "LIFE_MODEL": "qwen3"}
    settings = load_settings(config, env=env)
    assert choose(None, settings.defaults.provider, settings.defaults.model, env=env) == ProviderSpec("ollama", "qwen3")
    assert choose("anthropic", settings.defaults.provider, None, env=env) == ProviderSpec("anthropic")


def test_build_makes_scripted_providers_and_refuses_replay(tmp_path: Path) -> None:
    demo = build(ProviderSpec("scripted", "demo"))
    assert isinstance(demo, ScriptedProvider) and demo.name == "scripted" and demo.script.turns
    path = tmp_path / "s.yaml"
    path.write_text("model: fake-model\nturns:\n  - text: hi\n")
    built = build(ProviderSpec.parse(f"scripted:{path}"))
    assert isinstance(built, ScriptedProvider) and built.model == "fake-model"
    with pytest.raises(InvalidInput):
        build(ProviderSpec("replay", "x"))
    assert DEFAULT_MODELS["anthropic"].startswith("claude-")


# -------------------------------------------------------------------------------------------- settings
def test_settings_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        """
[defaults]
provider = "anthropic:claude-sonnet-4-5"
max_tokens = 2048
thinking_budget = 1024

[budget]
tokens = 5000
cost_usd = 0.5
max_turns = 3

[approvals]
mode = "plan"
rules = { bash = "ask", "fs:write:.env" = "deny" }
expiry_s = 30

[context]
window = 32000

[prices."my-model"]
input = 1.0
output = 2.0
""",
        encoding="utf-8",
    )
    s = load_settings(path, env={})
    assert (s.defaults.provider, s.defaults.max_tokens, s.defaults.thinking_budget) == (
        "anthropic:claude-sonnet-4-5",
        2048,
        1024,
    )
    assert (s.budget.tokens, s.budget.cost_usd, s.budget.max_turns, s.budget.tool_calls) == (5000, 0.5, 3, 48)
    assert (s.approvals.mode, s.approvals.rules, s.approvals.expiry_s) == (
        "plan",
        {"bash": "ask", "fs:write:.env": "deny"},
        30,
    )
    assert s.context.window == 32000
    assert s.prices == {"my-model": {"input": 1.0, "output": 2.0}}


def test_missing_file_gives_defaults_and_the_default_path_is_the_config_dir(life_home: Path) -> None:
    assert load_settings(life_home / "nothing.toml", env={}) == Settings()
    (life_home / "config").mkdir()
    (life_home / "config" / "config.toml").write_text("[budget]\nerrors = 2\n")
    assert load_settings(env={}).budget.errors == 2


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[defaults\nprovider = ", encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value) and "not valid TOML" in str(err.value)


@pytest.mark.parametrize("body", ["[budget]\ntokenz = 5\n", "[budget]\ntokens = 'many'\n", "[nonsense]\nx = 1\n"])
def test_unknown_or_mistyped_settings_name_the_file(tmp_path: Path, body: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidInput) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value)


# ---------------------------------------------------------------------------------------------- scripts
async def test_a_scripted_provider_streams_its_turns_in_order(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(
        """
model: fake
turns:
  - text: "hello world"
    chunk_chars: 4
    usage: {input_tokens: 7, output_tokens: 3}
  - tool_calls: [{name: list_dir, arguments: {path: "."}}]
  - error: {message: overloaded, retryable: true, status: 529}
""",
        encoding="utf-8",
    )
    provider = ScriptedProvider(load_script(path))
    request = ModelRequest(model="fake")
    items = [item async for item in provider.stream(request)]
    assert items[:-1] == [TextDelta("hell"), TextDelta("o wo"), TextDelta("rld")]
    assert items[-1] == ModelResponse(text="hello world", usage=Usage(input_tokens=7, output_tokens=3), model="fake")
    second = [item async for item in provider.stream(request)]
    assert len(second) == 1 and isinstance(second[0], ModelResponse)
    assert second[0].stop_reason == "tool_use" and second[0].tool_calls[0].id == "call_2_1"
    with pytest.raises(ProviderError) as err:
        _ = [item async for item in provider.stream(request)]
    assert (err.value.retryable, err.value.status, err.value.message) == (True, 529, "scripted: overloaded")
    with pytest.raises(ProviderError, match="no turn 4"):
        _ = [item async for item in provider.stream(request)]
    assert provider.turns_used == 3 and len(provider.requests) == 4


@pytest.mark.parametrize(
    ("name", "body"), [("bad.yaml", "turns: [unclosed"), ("bad.json", "{"), ("shape.yaml", "turns: 5")]
)
def test_malformed_scripts_are_invalid_input(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_script(path)
    with pytest.raises(InvalidInput, match="no script file"):
        load_script(tmp_path / "missing.yaml")


# ---------------------------------------------------------------------------------------------- pricing
def test_known_models_are_priced_from_the_table() -> None:
    assert price_for("gpt-4.1") == (PRICES["gpt-4.1"], True)
    assert price_for("gpt-4.1-mini") == (PRICES["gpt-4.1-mini"], True)
    assert price_for("claude-sonnet-4-5-20250929") == (PRICES["claude-sonnet-4*"], True)
    assert price_for("claude-opus-4-1") == (PRICES["claude-opus-4*"], True)
    assert price_for("claude-3-5-haiku-latest") == (PRICES["claude-3-5-haiku*"], True)


def test_unknown_models_are_priced_conservatively_and_flagged() -> None:
    price, known = price_for("mystery-model-9000", provider="openai")
    assert (price, known) == (CONSERVATIVE, False)
    assert all(price.input >= p.input and price.output >= p.output for p in PRICES.values())


def test_local_providers_are_free_and_overrides_win() -> None:
    for provider in ("ollama", "scripted", "replay", "vllm", "lmstudio"):
        price, known = price_for("gpt-4.1", provider=provider)
        assert known and cost_usd(price, input_tokens=10**6, output_tokens=10**6) == 0.0
    mine = Price(input=1.0, output=2.0)
    assert price_for("my-model", {"my-model": mine}) == (mine, True)
    assert price_for("gpt-4.1", {"gpt-4.1": mine}) == (mine, True)


def test_cost_arithmetic() -> None:
    price = PRICES["claude-sonnet-4*"]
    cost = cost_usd(
        price, input_tokens=1_000_000, output_tokens=100_000, cached_tokens=200_000, cache_write_tokens=10_000
    )
    assert cost == pytest.approx(3.0 + 1.5 + 0.06 + 0.0375)
    plain = Price(input=2.0, output=8.0)  # no cache or reasoning rates: they fall back to input / output
    assert cost_usd(plain, input_tokens=0, output_tokens=0, cached_tokens=10**6, reasoning_tokens=10**6) == 10.0
    assert cost_usd(plain, input_tokens=1, output_tokens=1) == 0.00001
