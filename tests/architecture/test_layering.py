"""The layering rules of docs/architecture.md, checked on every module's imports (parsed, not imported).

Dependencies point downward (front ends -> runtime -> domain packages -> journal -> kernel), domain
packages do not import one another, and each front-end library stays in its front end. Every import
statement counts, wherever it is (inside functions and ``TYPE_CHECKING`` blocks too).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "life_tui"
PACKAGE = "life_tui"
DOMAIN = frozenset({"tools", "homeostasis", "evaluation", "finance", "identity", "spaces", "observability"})
FRONT_ENDS_AND_RUNTIME = frozenset({"runtime", "cli", "tui", "mcp_server"})


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    path: Path
    line: int
    target: str  # the imported module, absolute and dotted

    def __str__(self) -> str:
        return f"{self.path.relative_to(PACKAGE_ROOT.parent)}:{self.line} imports {self.target}"


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path = PACKAGE_ROOT) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}


def imports_in(source: str, module: str, path: Path, known: set[str], *, is_package: bool) -> list[Import]:
    """Every import in ``source`` as absolute module names; ``from pkg import sub`` names ``pkg.sub``."""
    found: list[Import] = []
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_parts[: len(package_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append(Import(module, path, node.lineno, candidate if candidate in known else base))
    return found


def all_imports(root: Path = PACKAGE_ROOT) -> list[Import]:
    modules = package_modules(root)
    known = set(modules)
    out: list[Import] = []
    for name, path in modules.items():
        source = path.read_text(encoding="utf-8")
        out += imports_in(source, name, path, known, is_package=path.name == "__init__.py")
    return out


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _layer(name: str) -> str | None:
    """``life_tui.journal.wal`` -> ``journal``; ``life_tui`` -> ``""``; anything else -> None."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    return parts[1] if len(parts) > 1 else ""


def _is_third_party(imp: Import, top_level: str) -> bool:
    return _top(imp.target) == top_level


# Each rule: (id, predicate over an import that is True for a violation, what the rule says).
Rule = tuple[str, Callable[[Import], bool], str]


def _kernel(imp: Import) -> bool:
    return _layer(imp.module) == "kernel" and _layer(imp.target) not in (None, "", "kernel", "errors")


def _journal(imp: Import) -> bool:
    allowed = ("", "kernel", "errors", "paths", "journal")
    return _layer(imp.module) == "journal" and _layer(imp.target) not in (None, *allowed)


def _domain(imp: Import) -> bool:
    own, target = _layer(imp.module), _layer(imp.target)
    if own not in DOMAIN or target is None or target == own:
        return False
    return target in DOMAIN or target in FRONT_ENDS_AND_RUNTIME


def _textual(imp: Import) -> bool:
    return _is_third_party(imp, "textual") and _layer(imp.module) != "tui"


def _typer(imp: Import) -> bool:
    return _is_third_party(imp, "typer") and _layer(imp.module) != "cli"


def _mcp(imp: Import) -> bool:
    if not _is_third_party(imp, "mcp"):
        return False
    return not (_layer(imp.module) == "mcp_server" or imp.module == f"{PACKAGE}.tools.mcp_client")


RULES: list[Rule] = [
    ("textual-only-in-tui", _textual, "Textual may be imported only under life_tui/tui/"),
    ("kernel-stands-alone", _kernel, "kernel/ may import only life_tui.kernel and life_tui.errors"),
    ("journal-below-domain", _journal, "journal/ may import only kernel, errors, paths and journal"),
    (
        "domain-packages-independent",
        _domain,
        "domain packages may not import each other, the runtime or a front end (runtime.Session wires them)",
    ),
    ("typer-only-in-cli", _typer, "typer may be imported only under life_tui/cli/"),
    (
        "mcp-only-in-mcp-server",
        _mcp,
        "the MCP SDK may be imported only under mcp_server/ and tools/mcp_client.py",
    ),
]


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


@pytest.mark.parametrize(("rule_id", "violates", "rule"), RULES, ids=[r[0] for r in RULES])
def test_rule(imports: list[Import], rule_id: str, violates: Callable[[Import], bool], rule: str) -> None:
    bad = sorted({str(imp) for imp in imports if violates(imp)})
    assert not bad, f"{rule}:\n  " + "\n  ".join(bad)


def test_scanner_sees_the_package(imports: list[Import]) -> None:
    modules = package_modules()
    assert "life_tui.kernel.event" in modules
    assert "life_tui.journal" in modules
    assert any(imp.target == "msgspec" for imp in imports)


def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _violations(root: Path) -> dict[str, list[str]]:
    found = all_imports(root)
    return {rule_id: sorted(i.target for i in found if violates(i)) for rule_id, violates, _ in RULES}


def test_rules_catch_violations(tmp_path: Path) -> None:
    """The rules are not vacuous: a planted bad import of each kind is reported."""
    root = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "paths.py": "",
            "kernel/__init__.py": "from life_tui.kernel import ids\n",
            "kernel/ids.py": "from .. import paths\n",
            "kernel/event.py": "def f():\n    from ..journal import store\n",
            "journal/__init__.py": "",
            "journal/store.py": "from ..kernel import ids\nfrom life_tui.runtime import loop\n",
            "runtime/__init__.py": "",
            "runtime/loop.py": "import textual.app\n",
            "finance/__init__.py": "from life_tui.identity import keys\nfrom life_tui import errors\n",
            "identity/__init__.py": "",
            "identity/keys.py": "from life_tui.finance import ledger\nimport typer\n",
            "finance/ledger.py": "import mcp\n",
            "tools/__init__.py": "",
            "tools/mcp_client.py": "import mcp.client\n",
            "tui/__init__.py": "import textual\n",
            "cli/__init__.py": "import typer\n",
            "mcp_server/__init__.py": "from mcp.server import x\n",
        },
    )
    assert _violations(root) == {
        "textual-only-in-tui": ["textual.app"],
        "kernel-stands-alone": ["life_tui.journal.store", "life_tui.paths"],
        "journal-below-domain": ["life_tui.runtime.loop"],
        "domain-packages-independent": ["life_tui.finance.ledger", "life_tui.identity.keys"],
        "typer-only-in-cli": ["typer"],
        "mcp-only-in-mcp-server": ["mcp"],
    }
