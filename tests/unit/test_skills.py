"""Skills: SKILL.md parsing, discovery (precedence, malformed files skipped with a reason, case-insensitive
file names), the catalogue, the ``/name`` command, the skills block and the ``activate_skill`` tool."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from life_tui import paths
from life_tui.errors import InvalidInput, NotFound
from life_tui.kernel import kinds as k
from life_tui.runtime.projection import ActiveSkill
from life_tui.runtime.skills import SkillCommands, skills_block
from life_tui.tools.registry import ToolContext, ToolRegistry
from life_tui.tools.skills import (
    ACTIVATE_SKILL,
    SKILL_TOOL,
    McpServer,
    SkillCommand,
    default_prompt,
    discover,
    discover_for,
    parse_command,
    parse_skill,
    skill_dirs,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "skills"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The fixture workspace (skills/ and .life/skills/) and the fixture user skills, copied into place."""
    ws = tmp_path / "ws"
    shutil.copytree(DATA / "workspace", ws)
    shutil.copytree(DATA / "user", paths.resolve().user_skills)
    return ws


def write_skill(root: Path, folder: str, text: str, file: str = "SKILL.md") -> Path:
    path = root / folder / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ parsing
def test_a_skill_parses_with_its_fields_and_keeps_unknown_keys_as_metadata(workspace: Path) -> None:
    skills = discover_for(workspace)
    review = skills.get("review")
    assert review.description == "Review code changes for bugs and style; read-only."
    assert review.allowed_tools == ("read_file", "list_dir")
    assert review.tags == ("code", "review")
    assert review.license == "MIT"
    assert review.metadata == {"owner": "platform-team"}
    assert review.body.startswith("# Code review\n\n1. Read the changed files")
    assert review.path == workspace / "skills" / "review" / "SKILL.md"
    deploy = skills.get("deploy")
    assert deploy.allowed_tools == ("read_file", "list_dir")  # kebab-case key, comma-separated string
    assert deploy.disable_model_invocation is True
    assert deploy.mcp_servers == (McpServer(name="cloud", command="cloud-mcp", args=("--region", "eu")),)
    assert deploy.metadata == {"version": 2}
    assert skills.get("summarize").allowed_tools is None  # no list: no narrowing


def test_parse_rejects_malformed_files_with_a_reason() -> None:
    cases = {
        "Body only.": "does not start with a '---'",
        "---\nname: a\ndescription: b\n": "not closed",
        "---\nname: [x\n---\n": "not valid YAML",
        "---\n- a\n---\n": "not a mapping",
        "---\ndescription: b\n---\n": "has no name",
        "---\nname: a\n---\n": "has no description",
        "---\nname: a\ndescription: '  '\n---\n": "has no description",
        "---\nname: a b\ndescription: c\n---\n": "is not letters",
        "---\nname: Skill\ndescription: c\n---\n": "reserved",
        "---\nname: a\ndescription: c\nallowed_tools: {x: 1}\n---\n": "allowed_tools must be a list",
        "---\nname: a\ndescription: c\nuser_invocable: maybe\n---\n": "user_invocable must be true or false",
        "---\nname: a\ndescription: c\nmcp_servers: [{name: s}]\n---\n": "needs a name and a command",
        "---\nname: a\ndescription: c\nmcp_servers: [{name: s, command: x, args: 3}]\n---\n": "args must be a list",
    }
    for text, reason in cases.items():
        with pytest.raises(InvalidInput) as info:
            parse_skill(text, Path("SKILL.md"))
        assert reason in info.value.message, (text, info.value.message)


def test_parse_accepts_a_bom_crlf_and_an_empty_body() -> None:
    skill = parse_skill("\ufeff---\r\nname: a\r\ndescription: b\r\n---\r\n", Path("SKILL.md"))
    assert (skill.name, skill.description, skill.body) == ("a", "b", "")


# ---------------------------------------------------------------------------------------- discovery
def test_discovery_order_is_user_then_workspace_skills_then_dot_life(workspace: Path) -> None:
    assert skill_dirs(workspace) == [
        paths.resolve().user_skills,
        workspace / "skills",
        workspace / ".life" / "skills",
    ]


def test_the_workspace_overrides_the_user_by_name(workspace: Path) -> None:
    skills = discover_for(workspace)
    assert sorted(skills.skills) == ["deploy", "notes", "review", "summarize"]
    assert skills.get("review").description.startswith("Review code changes")  # the workspace's
    assert [s.description for s in skills.overridden] == [
        "The user's own review checklist (overridden by the workspace's)."
    ]
    assert skills.get("notes").path.is_relative_to(paths.resolve().user_skills)


def test_dot_life_skills_override_the_workspace_skills_dir(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    write_skill(ws / "skills", "x", "---\nname: x\ndescription: from skills/\n---\n")
    write_skill(ws / ".life" / "skills", "x", "---\nname: x\ndescription: from .life/skills/\n---\n")
    assert discover_for(ws).get("x").description == "from .life/skills/"


def test_malformed_files_are_skipped_and_listed_with_their_reason(workspace: Path) -> None:
    skipped = {s.path.parent.name: s.reason for s in discover_for(workspace).skipped}
    assert set(skipped) == {
        "no-frontmatter",
        "unclosed",
        "bad-yaml",
        "no-description",
        "reserved",
        "bad-tools",
        "bad-name",
        "not-a-mapping",
    }
    assert "'---' frontmatter" in skipped["no-frontmatter"]
    assert "not closed" in skipped["unclosed"]
    assert "not valid YAML" in skipped["bad-yaml"]
    assert "no description" in skipped["no-description"]
    assert "reserved" in skipped["reserved"]
    assert "allowed_tools must be a list of strings" in skipped["bad-tools"]


def test_the_file_name_is_matched_case_insensitively(workspace: Path) -> None:
    skills = discover_for(workspace)
    assert skills.get("summarize").path.name == "skill.md"
    assert skills.get("deploy").path.name == "Skill.md"


def test_discovery_skips_hidden_and_vendored_dirs_unreadable_files_and_same_dir_duplicates(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root, "a", "---\nname: a\ndescription: first\n---\n")
    write_skill(root, "b", "---\nname: a\ndescription: second\n---\n")
    write_skill(root, ".hidden/h", "---\nname: h\ndescription: hidden\n---\n")
    write_skill(root, "node_modules/n", "---\nname: n\ndescription: vendored\n---\n")
    write_skill(root, "d1/d2/d3/d4/d5", "---\nname: deep\ndescription: too deep\n---\n")
    (root / "bin").mkdir()
    (root / "bin" / "SKILL.md").write_bytes(b"---\nname: \xff\n---\n")
    found = discover([root, tmp_path / "missing"])
    assert list(found.skills) == ["a"]
    assert found.get("a").description == "first"
    reasons = sorted(s.reason for s in found.skipped)
    assert any("another skill named 'a'" in r for r in reasons)
    assert any("not UTF-8" in r for r in reasons)


def test_a_huge_skill_file_is_skipped(tmp_path: Path) -> None:
    write_skill(tmp_path, "big", "---\nname: big\ndescription: d\n---\n" + "x" * 300_000)
    found = discover([tmp_path])
    assert not found.skills
    assert "bytes (at most" in found.skipped[0].reason


def test_unknown_skill_names_the_available_ones(workspace: Path) -> None:
    with pytest.raises(NotFound) as info:
        discover_for(workspace).get("nope")
    assert info.value.hint is not None and "review" in info.value.hint


# ---------------------------------------------------------------------------------------- catalogue
def test_the_catalogue_is_one_line_per_model_invocable_skill(workspace: Path) -> None:
    text = discover_for(workspace).catalogue()
    assert text == (
        "Available skills (activate one with the activate_skill tool when the task matches its description):\n"
        "- notes: Keep notes of decisions in memory.\n"
        "- review: Review code changes for bugs and style; read-only.\n"
        "- summarize: Summarise a document in five bullet points."
    )  # deploy is user-only (disable-model-invocation)


def test_no_skills_no_catalogue(tmp_path: Path) -> None:
    assert discover_for(tmp_path).catalogue() is None


def test_the_skills_block_puts_the_active_skill_before_the_catalogue() -> None:
    active = ActiveSkill(name="review", body="Do the review.", seq=3, allowed_tools=["read_file"])
    block = skills_block("Available skills:\n- review: r", active)
    assert block is not None
    assert block.startswith('<active-skill name="review" allowed-tools="read_file">\nDo the review.\n</active-skill>')
    assert block.endswith("Available skills:\n- review: r")
    assert skills_block(None, None) is None
    assert "all tools" in (skills_block(None, ActiveSkill(name="x", body="b", seq=1)) or "")


# ----------------------------------------------------------------------------------------- commands
def test_parse_command() -> None:
    assert parse_command("/review check main.py") == SkillCommand("review", "check main.py")
    assert parse_command("/review") == SkillCommand("review", "")
    assert parse_command("/review\nthe second line") == SkillCommand("review", "the second line")
    assert parse_command("/skill off") == SkillCommand(None, "")
    assert parse_command("/skill OFF and now plain work") == SkillCommand(None, "and now plain work")
    assert parse_command("/skill review go") == SkillCommand("review", "go")
    assert parse_command("/usr/bin is full") is None
    assert parse_command("/skill") is None
    assert parse_command("hello /review") is None
    assert parse_command("/") is None


def test_the_command_prelude(workspace: Path) -> None:
    commands = SkillCommands(workspace)
    assert commands.prelude("plain text", None) == ()
    assert commands.prelude(" /review as text", None) == ()
    assert commands.prelude("/usr/bin is full", None) == ()
    (activated,) = commands.prelude("/review look at a.py", None)
    assert isinstance(activated, k.SkillActivated)
    assert (activated.name, activated.source, activated.prompt) == ("review", "command", "look at a.py")
    assert activated.allowed_tools == ["read_file", "list_dir"]
    assert activated.body.startswith("# Code review")
    (bare,) = commands.prelude("/deploy", None)  # user-only skills are fine for the user
    assert isinstance(bare, k.SkillActivated)
    assert bare.prompt == default_prompt("deploy")
    with pytest.raises(NotFound):
        commands.prelude("/nope do it", None)
    with pytest.raises(InvalidInput):
        commands.prelude("/skill off", None)
    active = ActiveSkill(name="review", body="b", seq=1)
    (off,) = commands.prelude("/skill off", active)
    assert isinstance(off, k.SkillDeactivated)
    assert (off.name, off.prompt) == ("review", "The user turned the 'review' skill off.")


def test_a_skill_that_is_not_user_invocable_refuses_the_command(tmp_path: Path) -> None:
    write_skill(tmp_path / "skills", "m", "---\nname: m\ndescription: d\nuser_invocable: false\n---\n")
    with pytest.raises(InvalidInput):
        SkillCommands(tmp_path).prelude("/m", None)


def test_new_skill_files_are_seen_by_the_next_command(tmp_path: Path) -> None:
    commands = SkillCommands(tmp_path)
    assert commands.catalogue() is None
    write_skill(tmp_path / "skills", "late", "---\nname: late\ndescription: added later\n---\nLate body.\n")
    (activated,) = commands.prelude("/late", None)
    assert isinstance(activated, k.SkillActivated)
    assert activated.body == "Late body."
    assert commands.catalogue() is not None


# ------------------------------------------------------------------------------------------ the tool
async def test_the_activate_skill_tool(workspace: Path) -> None:
    registry = ToolRegistry([ACTIVATE_SKILL])
    ctx = ToolContext(workspace=workspace, session_id="s", call_id="c")
    out = await registry.run(SKILL_TOOL, {"name": "review"}, ctx)
    assert not out.is_error
    assert "read_file, list_dir" in out.content
    (effect,) = out.effects
    assert isinstance(effect, k.SkillActivated)
    assert (effect.name, effect.source, effect.prompt) == ("review", "tool", None)
    missing = await registry.run(SKILL_TOOL, {"name": "nope"}, ctx)
    assert missing.is_error and "no skill named 'nope'" in missing.content and not missing.effects
    user_only = await registry.run(SKILL_TOOL, {"name": "deploy"}, ctx)
    assert user_only.is_error and "only be activated by the user" in user_only.content
    invalid = await registry.run(SKILL_TOOL, {}, ctx)
    assert invalid.is_error and "name" in invalid.content
    assert ACTIVATE_SKILL.capabilities_for({"name": "review"}) == ["skill:activate:review"]
