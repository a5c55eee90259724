"""Test doubles shared by the suite (import as ``fakes``: pytest puts ``tests/`` on ``sys.path``).

``fakes.llm_server.FakeLLMServer`` is a local HTTP server speaking the Anthropic Messages and OpenAI
chat-completions streaming protocols, scripted per request, for driving the real SDKs offline.
"""

from __future__ import annotations

from .llm_server import FakeLLMServer, FakeToolCall, FakeUsage, RecordedRequest, Reply

__all__ = ["FakeLLMServer", "FakeToolCall", "FakeUsage", "RecordedRequest", "Reply"]
