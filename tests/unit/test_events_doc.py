"""docs/events.md is generated from the code; it must never drift (SPEC §2)."""

from __future__ import annotations

from pathlib import Path

from life_tui.kernel import kinds
from life_tui.kernel.docs import REGENERATE, main, render_events_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_events_doc_is_current() -> None:
    expected = render_events_markdown()
    actual = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert actual == expected, f"docs/events.md is stale: run `{REGENERATE}` and commit the result"


def test_rendering_is_deterministic() -> None:
    assert render_events_markdown() == render_events_markdown()


def test_every_kernel_kind_is_documented() -> None:
    text = render_events_markdown()
    for kind, cls in kinds.registered_kinds().items():
        if cls.__module__ == kinds.__name__:
            assert f"#### `{kind}`" in text


def test_kinds_registered_elsewhere_do_not_change_the_reference() -> None:
    before = render_events_markdown()

    @kinds.register("test.docs_probe", "Probe")
    class Probe(kinds.Payload, frozen=True, kw_only=True, omit_defaults=True):
        """Registered by a test module, not by the kernel."""

        value: int = 0

    try:
        assert render_events_markdown() == before
    finally:
        kinds._REGISTRY.pop("test.docs_probe", None)
        kinds._DECODERS.pop("test.docs_probe", None)


def test_check_flags_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "events.md"
    assert main(["--check", "--output", str(out)]) == 1
    assert main(["--output", str(out)]) == 0
    assert main(["--check", "--output", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert main(["--check", "--output", str(out)]) == 1
