"""``life-tui mcp list|add|remove|test|enable`` through typer's runner: config tables written next to the
user's other settings without disturbing them, secrets never printed, and ``test`` starting a real server."""

from __future__ import annotations

import json
import sys
import tomllib

import pytest
import typer
from fakes.mcp_servers import CRASHING_SERVER, TOOLS_SERVER
from typer.testing import CliRunner

from life_tui import paths
from life_tui.cli import mcp_manage
from life_tui.errors import ExitCode, LifeError

SECRET = "tok-very-secret-123"
OTHER_SETTINGS = """# my settings
[defaults]
provider = "scripted:demo"   # keep this comment

[approvals]
rules = { bash = "ask" }
"""


@pytest.fixture
def group() -> typer.Typer:
    app = typer.Typer()
    mcp_manage.register(app)
    return app


def invoke(group: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(group, list(args))
    if isinstance(result.exception, LifeError):  # main.run turns these into a line and an exit code
        return int(result.exception.exit_code), str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def config_text() -> str:
    return paths.resolve().config_file.read_text()


def test_add_list_remove_keeps_the_rest_of_the_file(group: typer.Typer) -> None:
    path = paths.resolve().config_file
    path.parent.mkdir(parents=True)
    path.write_text(OTHER_SETTINGS)
    path.chmod(0o640)
    code, out = invoke(group, "add", "files", "--env", f"TOKEN={SECRET}", "--", "python", "-m", "srv", "--flag")
    assert code == 0, out
    code, out = invoke(group, "add", "web", "--url", "https://example.com/mcp", "--header", f"Authorization={SECRET}")
    assert code == 0, out
    parsed = tomllib.loads(config_text())
    assert parsed["mcp_servers"] == {
        "files": {"command": "python", "args": ["-m", "srv", "--flag"], "env": {"TOKEN": SECRET}},
        "web": {"url": "https://example.com/mcp", "headers": {"Authorization": SECRET}},
    }
    assert config_text().startswith(OTHER_SETTINGS)  # comments and layout untouched
    assert path.stat().st_mode & 0o777 == 0o640  # the mode it had is kept

    code, out = invoke(group, "list")
    assert code == 0
    assert "files  enabled  stdio  python -m srv --flag  secrets: TOKEN=***" in out
    assert "web  enabled  http  https://example.com/mcp  secrets: Authorization=***" in out
    code, out = invoke(group, "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in rows] == ["files", "web"] and rows[0]["env"] == {"TOKEN": "***"}
    assert SECRET not in out

    code, out = invoke(group, "remove", "files")
    assert code == 0
    parsed = tomllib.loads(config_text())
    assert list(parsed["mcp_servers"]) == ["web"]
    assert parsed["defaults"] == {"provider": "scripted:demo"} and parsed["approvals"] == {"rules": {"bash": "ask"}}
    assert "# keep this comment" in config_text()
    invoke(group, "remove", "web")
    assert "mcp_servers" not in tomllib.loads(config_text())


def test_add_refuses_bad_input_and_duplicates(group: typer.Typer) -> None:
    assert invoke(group, "add", "files", "--", "python", "srv.py")[0] == 0
    assert paths.resolve().config_file.stat().st_mode & 0o777 == 0o600  # a new file is private (it holds env)
    code, out = invoke(group, "add", "files", "--", "other")
    assert code == 9 and "exists already" in out  # Conflict
    assert invoke(group, "add", "files", "--replace", "--", "other")[0] == 0
    assert tomllib.loads(config_text())["mcp_servers"]["files"] == {"command": "other"}
    code, out = invoke(group, "add", "bad__name", "--", "x")
    assert code == 4 and "bad MCP server name" in out
    code, out = invoke(group, "add", "both", "--url", "https://x/mcp", "--", "x")
    assert code == 2 and "either a command" in out
    code, out = invoke(group, "add", "web", "--url", "ftp://x")
    assert code == 4 and "http:// or https://" in out
    code, out = invoke(group, "remove", "nothing")
    assert code == 3 and "no MCP server named 'nothing'" in out


def test_an_inline_table_is_not_rewritten(group: typer.Typer) -> None:
    path = paths.resolve().config_file
    path.parent.mkdir(parents=True)
    path.write_text('[mcp_servers]\nfiles = { command = "x" }\n')
    code, out = invoke(group, "add", "files", "--replace", "--", "y")
    assert code == 4 and "edit" in out and "by hand" in out
    assert config_text() == '[mcp_servers]\nfiles = { command = "x" }\n'


def test_list_reports_an_invalid_table_without_hiding_the_others(group: typer.Typer) -> None:
    path = paths.resolve().config_file
    path.parent.mkdir(parents=True)
    path.write_text('[mcp_servers.good]\ncommand = "x"\n\n[mcp_servers.bad]\nargs = ["y"]\n')
    code, out = invoke(group, "list")
    assert code == 0
    assert "good  enabled  stdio  x" in out and "bad  invalid  [mcp_servers.bad] needs exactly one" in out


def test_test_starts_the_server_and_lists_its_tools(group: typer.Typer) -> None:
    invoke(group, "add", "fake", "--env", f"FAKE_TOKEN={SECRET}", "--", sys.executable, str(TOOLS_SERVER))
    code, out = invoke(group, "test", "fake")
    assert code == 0, out
    assert "fake: ok, 6 tool(s), 1 resource(s)" in out
    assert "mcp__fake__lookup  (server hints: read_only=True, idempotent=True)" in out
    assert 'input: {"properties": {"a": {"title": "A", "type": "integer"}' in out
    assert "resource notes://readme" in out and SECRET not in out
    code, out = invoke(group, "test", "fake", "--json")
    document = json.loads(out)
    assert {t["name"] for t in document["tools"]} == {"add", "lookup", "fail", "sleep", "whoami", "grow"}


def test_test_fails_with_the_servers_stderr(group: typer.Typer) -> None:
    invoke(group, "add", "broken", "--env", "CRASH_AT_START=1", "--", sys.executable, str(CRASHING_SERVER))
    code, out = invoke(group, "test", "broken")
    assert code == ExitCode.MCP_SERVER
    assert "MCP server 'broken' exited during start-up" in out and "cannot start (CRASH_AT_START)" in out


def test_enable_approves_a_late_tool_in_the_config(group: typer.Typer) -> None:
    invoke(group, "add", "fake", "--", "python", "srv.py")
    code, out = invoke(group, "enable", "fake", "late_tool")
    assert code == 0 and "approved late_tool" in out
    assert tomllib.loads(config_text())["mcp_servers"]["fake"]["approved_tools"] == ["late_tool"]
    assert "approved already" in invoke(group, "enable", "fake", "late_tool")[1]
    assert invoke(group, "enable", "nope", "x")[0] == 3
