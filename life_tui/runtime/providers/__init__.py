"""Provider selection: ``name:model`` specs, the environment, and building an adapter.

Specs: ``anthropic[:MODEL]``, ``openai[:MODEL]`` (any OpenAI-compatible server with ``OPENAI_BASE_URL``),
``ollama[:MODEL]`` (OpenAI-compatible at localhost:11434), ``scripted:demo`` or ``scripted:PATH``, and
``replay:SESSION[@BRANCH]`` (built by the replay runner). With no spec, the environment decides:
``ANTHROPIC_API_KEY`` selects Anthropic, ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` selects OpenAI; with
nothing configured, :class:`NotConfigured` says how to configure one and offers the scripted demo.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from life_tui.errors import ExitCode, InvalidInput, LifeError
from life_tui.runtime.providers.base import Provider

DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-4.1", "ollama": "llama3.2"}
KNOWN = ("anthropic", "openai", "ollama", "scripted", "replay")
OLLAMA_URL = "http://localhost:11434/v1"
HOW_TO_CONFIGURE = (
    "set ANTHROPIC_API_KEY or OPENAI_API_KEY (or OPENAI_BASE_URL for a local server such as Ollama), "
    "set LIFE_PROVIDER=name:model, or pass --provider; `--provider scripted:demo` runs the built-in "
    "scripted demo (no model, no cost)"
)


class NotConfigured(LifeError):
    """No provider is configured. Front ends show the hint and offer the scripted demo."""

    exit_code = ExitCode.NOT_CONFIGURED

    def __init__(self) -> None:
        super().__init__("no model provider is configured", hint=HOW_TO_CONFIGURE)


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    model: str | None = None

    @classmethod
    def parse(cls, spec: str) -> ProviderSpec:
        name, _, model = spec.strip().partition(":")
        name = name.lower()
        if name not in KNOWN:
            raise InvalidInput(f"unknown provider {name!r} in {spec!r}", hint=f"use one of {', '.join(KNOWN)}")
        return cls(name, model or None)

    def __str__(self) -> str:
        return f"{self.name}:{self.model}" if self.model else self.name


def detect(env: dict[str, str] | None = None) -> ProviderSpec | None:
    env = dict(os.environ) if env is None else env
    if env.get("ANTHROPIC_API_KEY"):
        return ProviderSpec("anthropic")
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return ProviderSpec("openai")
    return None


def choose(
    spec: str | None, configured: str | None, model: str | None = None, env: dict[str, str] | None = None
) -> ProviderSpec:
    """The provider to use: an explicit spec, else the configured one, else the environment's."""
    chosen = ProviderSpec.parse(spec) if spec else ProviderSpec.parse(configured) if configured else detect(env)
    if chosen is None:
        raise NotConfigured()
    if model:
        chosen = ProviderSpec(chosen.name, model)
    return chosen


def build(spec: ProviderSpec, *, base_url: str | None = None, env: dict[str, str] | None = None) -> Provider:
    """An adapter for ``spec``. SDKs load here, lazily, only for the provider actually used."""
    env = dict(os.environ) if env is None else env
    if spec.name == "anthropic":
        from life_tui.runtime.providers.anthropic import AnthropicProvider

        return AnthropicProvider(
            spec.model or DEFAULT_MODELS["anthropic"],
            api_key=env.get("ANTHROPIC_API_KEY"),
            base_url=base_url or env.get("ANTHROPIC_BASE_URL"),
        )
    if spec.name in ("openai", "ollama"):
        from life_tui.runtime.providers.openai_compat import OpenAICompatProvider

        url = base_url or env.get("OPENAI_BASE_URL") or (OLLAMA_URL if spec.name == "ollama" else None)
        return OpenAICompatProvider(
            spec.model or DEFAULT_MODELS[spec.name], api_key=env.get("OPENAI_API_KEY"), base_url=url, name=spec.name
        )
    if spec.name == "scripted":
        from life_tui.runtime.providers.scripted import ScriptedProvider, load_script

        return ScriptedProvider(load_script(spec.model or "demo"))
    raise InvalidInput("replay providers are built by `life-tui replay` from a recorded session")
