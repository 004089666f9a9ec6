"""The README and the docs stay true to the code: every setting the code reads is in the README's
configuration table and every one there is read; every command of the click app is in the
command-line table and every one there exists; every benchmark named exists, and every one is
named; what the code cites in the specification is in docs/spec/.

Each check is a function from the README's text to the problems it finds, so that the tests
below can also show it finds them (a README with a row taken out, or one added)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import click
import pytest

from reckit.cli import main
from reckit.config import LogSettings, Settings
from reckit.http.server import SETTINGS_ENV

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SPEC = ROOT / "docs" / "spec"
# A whole name: not the start of a pattern (RECKIT_LOG_*, RECKIT_STORAGE_ENDPOINT_<TYPE>).
SETTING = re.compile(r"RECKIT_[A-Z0-9_]*[A-Z0-9](?![\w{<*])")
# Named in the code for the code's own use, not for people: serve hands its workers its settings.
INTERNAL = {SETTINGS_ENV}


class _Recording(Mapping[str, str]):
    """An empty environment that notes every name asked of it."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.asked.append(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self.asked.append(str(key))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def settings_read() -> set[str]:
    """Every RECKIT_* name the settings are read from: asked of an empty environment by
    ``Settings.from_env`` and ``LogSettings.from_env`` (names built at run time, such as
    RECKIT_STORAGE_ENDPOINT_<TYPE>, included), and every one config.py names literally (one
    read only when another is set, too)."""
    env = _Recording()
    Settings.from_env(env)
    LogSettings.from_env(env)
    source = (ROOT / "src" / "reckit" / "config.py").read_text()
    literal = set(re.findall(r"[\"'](RECKIT_[A-Z0-9_]*[A-Z0-9])[\"']", source))
    return {name for name in env.asked if name.startswith("RECKIT_")} | literal


def named_in_source() -> set[str]:
    """Every whole RECKIT_* name written anywhere in src/reckit."""
    names: set[str] = set()
    for path in (ROOT / "src" / "reckit").rglob("*.py"):
        names |= set(SETTING.findall(path.read_text()))
    return names


def section(text: str, title: str) -> str:
    """The README's ``## title`` section, without its heading."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert found, f"README.md has no '## {title}' section"
    return found.group(1)


def first_cells(text: str, title: str) -> list[str]:
    """The first column of the table in a section, header and rule left out. A ``\\|`` inside a
    cell is a literal bar."""
    rows = [line for line in section(text, title).splitlines() if line.startswith("|")]
    return [re.split(r"(?<!\\)\|", row)[1].strip() for row in rows[2:]]


def config_table_problems(text: str) -> list[str]:
    table = {name for cell in first_cells(text, "Configuration") for name in SETTING.findall(cell)}
    read, anywhere = settings_read(), named_in_source()
    problems = [
        f"{name} is read by the code but not in the README's configuration table"
        for name in sorted(read - table)
    ]
    problems += [
        f"{name} is in the README's configuration table but the code reads no such setting"
        for name in sorted(table - read - anywhere)
    ]
    return problems


def source_names_problems(text: str) -> list[str]:
    """A RECKIT_* name the code uses (a setting, a command's environment variable) that the
    README never mentions."""
    mentioned = set(SETTING.findall(text))
    envvars = {
        str(param.envvar)
        for _, command in leaf_commands(main)
        for param in command.params
        if isinstance(param.envvar, str)
    }
    used = (named_in_source() | envvars) - INTERNAL
    return [
        f"{name} is used by the code but the README never names it"
        for name in sorted(used - mentioned)
    ]


def leaf_commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name), command


def commands_named(cell: str) -> tuple[set[tuple[str, ...]], list[str]]:
    """The commands a table cell names (``reckit meetings create\\|list`` is two), and what it
    names that the click app does not have."""
    named: set[tuple[str, ...]] = set()
    problems: list[str] = []
    for span in re.findall(r"`(reckit [^`]*)`", cell):

        def walk(
            command: click.Command, path: tuple[str, ...], words: list[str], span: str = span
        ) -> None:
            if not isinstance(command, click.Group):
                named.add(path)
                return
            if not words or words[0].startswith(("-", "[")):
                problems.append(
                    f"`{span}` names the group `reckit {' '.join(path)}`, not one of its commands"
                )
                return
            for alternative in words[0].split("\\|"):
                sub = command.commands.get(alternative)
                if sub is None:
                    problems.append(
                        f"`{span}`: the click app has no command "
                        f"`reckit {' '.join((*path, alternative))}`"
                    )
                else:
                    walk(sub, (*path, alternative), words[1:])

        walk(main, (), span.split()[1:])
    return named, problems


def command_table_problems(text: str) -> list[str]:
    named: set[tuple[str, ...]] = set()
    problems: list[str] = []
    for cell in first_cells(text, "Command line"):
        found, wrong = commands_named(cell)
        named |= found
        problems += wrong
    problems += [
        f"`reckit {' '.join(path)}` is a command but not in the README's command-line table"
        for path, _ in leaf_commands(main)
        if path not in named
    ]
    return problems


def bench_problems(text: str) -> list[str]:
    named = set(re.findall(r"bench/[\w./-]*\w\.(?:py|sh)\b", text))
    present = {f"bench/{p.name}" for p in (ROOT / "bench").iterdir() if p.suffix in (".py", ".sh")}
    problems = [
        f"{name} is named in the README but does not exist" for name in sorted(named - present)
    ]
    problems += [
        f"{name} exists but the README does not name it" for name in sorted(present - named)
    ]
    return problems


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text()


def test_every_setting_is_in_the_configuration_table_and_read(readme: str) -> None:
    assert config_table_problems(readme) == []


def test_every_name_the_code_uses_is_in_the_readme(readme: str) -> None:
    assert source_names_problems(readme) == []


def test_every_command_is_in_the_command_table_and_exists(readme: str) -> None:
    assert command_table_problems(readme) == []


def test_every_benchmark_named_exists_and_is_named(readme: str) -> None:
    assert bench_problems(readme) == []


def _without_row(text: str, title: str, needle: str) -> str:
    body = section(text, title)
    rows = [line for line in body.splitlines() if line.startswith("|") and needle in line]
    assert len(rows) == 1, rows
    return text.replace(body, body.replace(rows[0] + "\n", ""))


def _with_row(text: str, title: str, row: str) -> str:
    body = section(text, title)
    last = [line for line in body.splitlines() if line.startswith("|")][-1]
    return text.replace(body, body.replace(last + "\n", f"{last}\n{row}\n"))


def test_the_checks_find_a_missing_or_unknown_setting(readme: str) -> None:
    missing = _without_row(readme, "Configuration", "`RECKIT_STORAGE_ENDPOINT_AZURE`")
    assert config_table_problems(missing) == [
        "RECKIT_STORAGE_ENDPOINT_AZURE is read by the code but not in the README's "
        "configuration table"
    ]
    missing = _without_row(readme, "Configuration", "`RECKIT_LOG_LEVEL`")
    assert any("RECKIT_LOG_LEVEL is read" in p for p in config_table_problems(missing))
    unknown = _with_row(readme, "Configuration", "| `RECKIT_NO_SUCH_THING` | `1` | nothing |")
    assert config_table_problems(unknown) == [
        "RECKIT_NO_SUCH_THING is in the README's configuration table but the code reads no "
        "such setting"
    ]


def test_the_checks_find_a_missing_or_unknown_command(readme: str) -> None:
    missing = _without_row(readme, "Command line", "`reckit migrate`")
    assert command_table_problems(missing) == [
        "`reckit migrate` is a command but not in the README's command-line table"
    ]
    unknown = _with_row(
        readme, "Command line", "| `reckit tokens rotate\\|revoke ID` | `reckit nosuch` |"
    )
    assert command_table_problems(unknown) == [
        "`reckit tokens rotate\\|revoke ID`: the click app has no command `reckit tokens rotate`"
    ]
    group = _with_row(readme, "Command line", "| `reckit tokens [--json]` | |")
    assert command_table_problems(group) == [
        "`reckit tokens [--json]` names the group `reckit tokens`, not one of its commands"
    ]


def test_the_checks_find_a_missing_benchmark(readme: str) -> None:
    assert bench_problems(readme.replace("bench/ratelimit.py", "bench/rate_limit.py")) == [
        "bench/rate_limit.py is named in the README but does not exist",
        "bench/ratelimit.py exists but the README does not name it",
    ]


def test_the_readme_names_the_docs_and_the_spec(readme: str) -> None:
    for path in re.findall(r"`((?:docs/[\w./-]+)|CHANGELOG\.md|LICENSE)`", readme):
        assert (ROOT / path).exists(), f"README.md names {path}, which does not exist"
    assert "`docs/spec/`" in section(readme, "Documentation")


# What the code and the docs cite: ``wire-spec §N.M``, ``§7 item N``, ``decisions.md, <heading>``.
CITED_SECTION = re.compile(r"wire-spec(?:\.md`?)? §(\d+(?:\.\d+)?)")
CITED_ITEMS = re.compile(r"§7 items? (\d+(?:, \d+)*)")
CITED_DECISION = re.compile(r"decisions\.md`?, ([A-Z][a-z]+(?: [a-z]+)*)")


def _citing_files() -> Iterator[Path]:
    for folder in ("src", "docs", "tests", "bench"):
        yield from (
            p
            for p in (ROOT / folder).rglob("*")
            if p.suffix in (".py", ".md")
            and "node_modules" not in p.parts
            and SPEC not in p.parents
        )
    yield README


def test_the_spec_is_in_the_repository() -> None:
    names = {p.name for p in SPEC.iterdir()}
    assert {
        "README.md",
        "wire-spec.md",
        "decisions.md",
        "webhooks.md",
        "seed-fetch-all-recordings.txt",
    } <= names


def test_every_citation_of_the_spec_resolves() -> None:
    wire = (SPEC / "wire-spec.md").read_text()
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", wire, re.M))
    items = set(re.findall(r"^(\d+)\. \*\*", wire.split("\n## 7.", 1)[1], re.M))
    decisions = re.findall(r"^## (.+)$", (SPEC / "decisions.md").read_text(), re.M)
    problems = []
    count = 0
    for path in _citing_files():
        text = path.read_text()
        where = path.relative_to(ROOT)
        for cited in CITED_SECTION.findall(text):
            count += 1
            if cited not in sections:
                problems.append(f"{where}: wire-spec §{cited} is no section of wire-spec.md")
        for cited in CITED_ITEMS.findall(text):
            for item in cited.split(", "):
                count += 1
                if item not in items:
                    problems.append(f"{where}: §7 item {item} is no item of wire-spec.md §7")
        for cited in CITED_DECISION.findall(text):
            count += 1
            if not any(heading.startswith(cited) for heading in decisions):
                problems.append(f"{where}: decisions.md has no heading '{cited}'")
    assert count > 100  # the patterns still match how the code cites
    assert problems == []


def test_docs_name_no_issue_numbers() -> None:
    """Code and prose say what things are, not which tracker entry brought them."""
    texts = [README, ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md")]
    for folder in ("src", "tests", "bench", "scripts"):
        texts += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file()
            and "node_modules" not in p.parts
            and p.suffix in (".py", ".sh", ".md", ".js", ".html", ".css", ".mjs", "")
        ]
    for path in texts:
        found = re.findall(r".*\bissue [0-9].*", path.read_text(errors="replace"))
        assert not found, f"{path.relative_to(ROOT)}: {found}"
