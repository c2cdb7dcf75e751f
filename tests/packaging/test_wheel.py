"""`pip install .` from a clean clone gives a bot that runs from any folder (issue 18, item 2).

A copy of the repository without compiled catalogs, caches or virtualenv is built into a wheel (no build isolation,
no index: nothing is downloaded), the wheel is installed into a new venv that borrows this venv's dependencies
(a .pth path line: the editable install of the source tree in this venv is not activated by it), and the installed
bot runs its scripted demo from an empty folder, in English and in Russian."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
# What a clean clone does not have (.gitignore) or the build must not see.
NOT_IN_A_CLONE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "data", "*.egg-info", "__pycache__",
                                        "*.pyc", "*.mo", ".pytest_cache", ".env", ".crash-tests.log")


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def _clean_env() -> dict[str, str]:
    """This environment without any of the bot's settings, so the installed bot sees only its defaults."""
    names = set(Settings.model_fields)
    return {key: value for key, value in os.environ.items()
            if key not in names and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a venv with the wheel installed; returns its interpreter."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "clone"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE)
    assert not list(source.glob("locales/*/LC_MESSAGES/*.mo"))  # the build has to compile them
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-w", str(base / "dist"), str(source)])
    wheel = next((base / "dist").glob("paybot-*.whl"))

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    # The dependencies come from this venv: its site-packages as plain path lines (their own .pth files, such as
    # the editable finder of the source tree, are not run).
    borrowed = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()]
    (purelib / "zz_borrowed_dependencies.pth").write_text("\n".join(dict.fromkeys(borrowed)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
          "--disable-pip-version-check", str(wheel)])
    return python


def test_the_installed_package_has_its_card_page_and_compiled_catalogs(installed, tmp_path):
    probe = (
        "import bot, bot.app\n"
        "from importlib.resources import files\n"
        "print(bot.__file__)\n"
        "print(bot.app.LOCALES)\n"
        "for name in ('card_page.html', 'card_page.js', 'card_page.css'):\n"
        "    assert files('bot.webapp').joinpath(name).is_file(), name\n"
        "for lang in ('en', 'ru', 'uz'):\n"
        "    assert (bot.app.LOCALES / lang / 'LC_MESSAGES' / 'messages.mo').is_file(), lang\n"
        "import bot.webapp.page\n"  # reads the three files at import
    )
    result = _run([str(installed), "-c", probe], cwd=tmp_path, env=_clean_env())
    package, locales = result.stdout.split()
    site_packages = installed.parent.parent
    assert Path(package).is_relative_to(site_packages) and not Path(package).is_relative_to(ROOT)
    assert Path(locales) == Path(package).parent / "locales"


@pytest.mark.parametrize(("language", "button", "answer"), [
    ("en", "🇬🇧 English ✓", "You're all set"),
    ("ru", "🇷🇺 Русский ✓", "Всё готово"),
])
def test_the_installed_bot_runs_its_demo_from_another_folder(installed, tmp_path, language, button, answer):
    steps = f"/start\npress: {button}\n/contact\n"
    result = subprocess.run([str(installed), "-m", "bot", "demo", "--script", "-", "--language-code", language],
                            input=steps, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=_clean_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert answer in result.stdout, result.stdout
