"""The shipped themes reach an installed wheel: ``pyproject.toml`` installs ``themes/*.toml`` as the data
package ``life_tui.themes``, and the theme loader finds the three shipped themes there when no checkout is
beside the package.

Building a real wheel needs the network (an isolated build fetches setuptools), so the test lays out what
setuptools' ``build_py`` would install, from the same ``[tool.setuptools]`` settings (packages, package-dir,
package-data), in a temporary site directory, and imports ``life_tui`` from there in a fresh interpreter.
Python files are copied as they are, so the loader that runs is the real one, taking its installed path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"life-dark", "life-light", "life-high-contrast"}


def setuptools_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return config


def install_layout(site: Path) -> None:
    """Copy each listed package's modules and package data to where a wheel puts them."""
    config = setuptools_config()
    package_dirs: dict[str, str] = config.get("package-dir", {})
    package_data: dict[str, list[str]] = config.get("package-data", {})
    for package in config["packages"]:
        source = ROOT / package_dirs.get(package, package.replace(".", "/"))
        target = site / package.replace(".", "/")
        target.mkdir(parents=True, exist_ok=True)
        for pattern in ["*.py", *package_data.get(package, [])]:
            for path in source.glob(pattern):
                (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / path.relative_to(source))


def test_every_package_directory_is_listed_for_the_wheel() -> None:
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "life_tui").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = set(setuptools_config()["packages"])
    assert on_disk - listed == set(), "a package directory is missing from [tool.setuptools] packages"
    assert listed - on_disk == {"life_tui.themes"}


def test_the_installed_package_finds_the_three_shipped_themes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_layout(site)
    assert {p.stem for p in (site / "life_tui" / "themes").glob("*.toml")} == SHIPPED
    probe = (
        "import json\n"
        "from life_tui.tui import theme\n"
        "found = theme.load_themes(user_dir=None)\n"
        "print(json.dumps({'module': theme.__file__, 'dir': str(theme.shipped_theme_dir()),\n"
        "                  'themes': sorted(found.themes), 'problems': found.problems}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert Path(report["module"]).is_relative_to(site), "life_tui was imported from the checkout, not the site"
    assert Path(report["dir"]) == site / "life_tui" / "themes"
    assert set(report["themes"]) == SHIPPED
    assert report["problems"] == []
