"""The Dockerfile, read as Docker reads it (no engine runs on these machines; issue 18, item 3): a base pinned to a
full version, the installed wheel rather than a source tree, a non-root user, a HEALTHCHECK running
`python -m bot healthcheck`, and no default PROVIDERS: the entry point refuses to start, with one line, until it is
set."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FULL_VERSION_TAG = re.compile(r"^[\w.\-/]+:\d+\.\d+\.\d+(-[\w.\-]+)?(@sha256:[0-9a-f]{64})?$")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continued lines joined."""
    result, pending = [], ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, arguments = text.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    assert not pending, "a continued line at the end"
    return result


def final_stage() -> list[tuple[str, str]]:
    every = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(every) if keyword == "FROM")
    return every[last_from:]


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def test_every_base_is_pinned_to_a_full_version():
    bases = [arguments.split()[0] for keyword, arguments in instructions() if keyword == "FROM"]
    assert bases
    for base in bases:
        assert FULL_VERSION_TAG.match(base), f"{base} is not pinned to a full version tag"
        assert "latest" not in base


def test_the_image_runs_the_installed_wheel_not_a_source_tree():
    stage = final_stage()
    copies = [arguments for keyword, arguments in stage if keyword in ("COPY", "ADD")]
    for arguments in copies:
        sources = arguments.split()[:-1]
        assert any(source.startswith("--from=") for source in sources) or sources == ["docker/entrypoint.sh"], (
            f"the final image copies {arguments}: a source tree there would shadow the installed package")
    assert any(keyword == "RUN" and "pip install /tmp/dist/" in arguments for keyword, arguments in stage)
    assert exec_form(dict(stage)["CMD"]) == ["python", "-m", "bot"]


def test_it_runs_as_a_non_root_user():
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users, "no USER: the bot would run as root"
    user, _, group = users[-1].partition(":")
    assert user not in ("root", "0") and group not in ("root", "0")
    # The user exists with that id.
    assert any(keyword == "RUN" and f"--uid {user}" in arguments for keyword, arguments in final_stage())


def test_the_healthcheck_runs_the_bots_own_check():
    checks = [arguments for keyword, arguments in final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD")
    assert exec_form(command.strip()) == ["python", "-m", "bot", "healthcheck"]
    assert "--interval=" in options and "--timeout=" in options


def test_providers_has_no_default():
    for keyword, arguments in instructions():
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"(^|\s)PROVIDERS([=\s]|$)", arguments), f"{keyword} {arguments} gives a default"


def entrypoint() -> list[str]:
    command = exec_form(dict(final_stage())["ENTRYPOINT"])
    assert command == ["/bin/sh", "/usr/local/bin/paybot-entrypoint"]
    copied = [arguments for keyword, arguments in final_stage()
              if keyword == "COPY" and arguments.endswith(" /usr/local/bin/paybot-entrypoint")]
    assert copied == ["docker/entrypoint.sh /usr/local/bin/paybot-entrypoint"]
    return ["/bin/sh", str(ROOT / "docker" / "entrypoint.sh")]


def run_entrypoint(tmp_path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([*entrypoint(), *command], capture_output=True, text=True, timeout=30, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", **env})


def test_the_container_refuses_to_start_without_providers(tmp_path):
    result = run_entrypoint(tmp_path, {"BOT_TOKEN": "123:real"}, "python", "-m", "bot")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "PROVIDERS" in lines[0], result.stderr


def test_an_empty_providers_is_not_set_either(tmp_path):
    result = run_entrypoint(tmp_path, {"PROVIDERS": ""}, "echo", "started")
    assert result.returncode == 2 and "started" not in result.stdout


def test_the_container_starts_once_providers_is_set(tmp_path):
    for value in ("sandbox", "live"):
        result = run_entrypoint(tmp_path, {"PROVIDERS": value}, "echo", "started", "$PROVIDERS")
        assert result.returncode == 0 and result.stdout == "started $PROVIDERS\n", result.stderr


def test_providers_in_a_mounted_env_file_counts(tmp_path):
    (tmp_path / ".env").write_text("BOT_TOKEN=1:x\nPROVIDERS=live\n")
    assert run_entrypoint(tmp_path, {}, "echo", "started").stdout == "started\n"


def test_migrate_needs_no_providers(tmp_path):
    result = run_entrypoint(tmp_path, {}, "echo", "-m", "bot", "migrate")
    assert result.returncode == 0 and result.stdout == "-m bot migrate\n"
