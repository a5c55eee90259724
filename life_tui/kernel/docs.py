"""Render ``docs/events.md``, the event reference, from the code so it never drifts (SPEC §2).

The envelope comes from :class:`life_tui.kernel.event.Event` (its fields and docstring), the kinds from
the registry in :mod:`life_tui.kernel.kinds`, grouped by their documentation ``GROUP``, each with its
docstring and a table of payload fields. The output depends only on the code: kinds are taken from the
modules in :data:`KIND_MODULES` in their registration (source) order, whatever else a process happens to
have registered.

    python -m life_tui.kernel.docs            # rewrite docs/events.md
    python -m life_tui.kernel.docs --check    # exit 1 when docs/events.md is stale (CI runs the test)

Rendering is pure; only :func:`main` touches the filesystem.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import msgspec

from life_tui.kernel import event as event_module
from life_tui.kernel import kinds as kinds_module

# Modules whose registered kinds are documented, in this order. A domain package that registers kinds of
# its own (``autonomic.*``, ``finance.*``, ...) adds its module here and regenerates the file.
KIND_MODULES: tuple[str, ...] = ("life_tui.kernel.kinds",)

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "events.md"
REGENERATE = "python -m life_tui.kernel.docs"


def _prose(doc: str | None) -> str:
    """A docstring as Markdown: dedented, RST double backticks turned into Markdown code spans."""
    if not doc:
        return "(undocumented)"
    text = inspect.cleandoc(doc)
    text = re.sub(r":(?:class|func|data|mod|meth|attr):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def type_name(tp: Any) -> str:
    """A readable, stable spelling of a field's type: ``str | None``, ``dict[str, Any]``, ``msgspec.Raw``."""
    if tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(msgspec.json.encode(a).decode() for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", None) or str(origin).removeprefix("typing.")
        return f"{name}[{', '.join(type_name(a) for a in args)}]" if args else name
    if isinstance(tp, type):
        module = tp.__module__
        if module == "builtins" or module.startswith("life_tui."):
            return tp.__qualname__
        return f"{module.split('.')[0]}.{tp.__qualname__}"
    return str(tp).removeprefix("typing.")


def _default_text(field: msgspec.structs.FieldInfo) -> str:
    if field.required:
        return "required"
    value = field.default_factory() if field.default_factory is not msgspec.NODEFAULT else field.default
    return f"`{msgspec.json.encode(value).decode()}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def fields_table(struct_type: type[msgspec.Struct]) -> list[str]:
    """Markdown table rows for a struct's fields, in declaration (= encoding) order."""
    fields = msgspec.structs.fields(struct_type)
    if not fields:
        return ["No payload fields."]
    rows = ["| field | type | default |", "| --- | --- | --- |"]
    rows += [f"| `{f.encode_name}` | `{_cell(type_name(f.type))}` | {_cell(_default_text(f))} |" for f in fields]
    return rows


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def documented_kinds() -> list[tuple[str, type[kinds_module.Payload]]]:
    """(kind, payload type) for every kind registered by :data:`KIND_MODULES`, in a deterministic order."""
    for name in KIND_MODULES:
        importlib.import_module(name)
    order = {name: i for i, name in enumerate(KIND_MODULES)}
    chosen = [(kind, cls) for kind, cls in kinds_module.registered_kinds().items() if cls.__module__ in order]
    # The registry keeps registration order, which is source order within a module; sort only by module.
    return sorted(chosen, key=lambda item: order[item[1].__module__])


def render_events_markdown() -> str:
    """The full text of ``docs/events.md``."""
    out: list[str] = [
        "# Event reference",
        "",
        f"<!-- Generated from life_tui/kernel by `{REGENERATE}`; do not edit by hand. "
        "A test fails when this file is stale. -->",
        "",
        _prose(event_module.__doc__),
        "",
        "## Envelope",
        "",
        _prose(event_module.Event.__doc__),
        "",
        *fields_table(event_module.Event),
        "",
        f"`schema_version` is currently `{event_module.SCHEMA_VERSION}`. The `actor` values are "
        + ", ".join(f"`{a.value}`" for a in event_module.Actor)
        + ".",
        "",
        "## Kinds",
        "",
        _prose(kinds_module.__doc__),
        "",
    ]
    groups: dict[str, list[tuple[str, type[kinds_module.Payload]]]] = {}
    for kind, cls in documented_kinds():
        groups.setdefault(cls.GROUP or "Other", []).append((kind, cls))
    out += ["| group | kinds |", "| --- | --- |"]
    for group, members in groups.items():
        links = ", ".join(f"[`{kind}`](#{_anchor(f'`{kind}`')})" for kind, _ in members)
        out.append(f"| [{group}](#{_anchor(group)}) | {links} |")
    out.append("")
    for group, members in groups.items():
        out += [f"### {group}", ""]
        for kind, cls in members:
            out += [f"#### `{kind}`", "", f"Payload type `{cls.__name__}`. {_prose(cls.__doc__)}", ""]
            out += [*fields_table(cls), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description="Write docs/events.md from the code.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the reference lives")
    args = parser.parse_args(argv)
    text = render_events_markdown()
    path: Path = args.output
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if args.check:
        if current != text:
            print(f"{path} is stale; run `{REGENERATE}` and commit the result", file=sys.stderr)
            return 1
        return 0
    if current != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
