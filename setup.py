"""The build compiles the translations: locales/ stays at the repository's top level (the source tree reads it
there, `make locales` compiles it in place), and every wheel carries the catalogs compiled, as bot/locales/."""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LOCALES = ROOT / "locales"


class BuildWithCatalogs(build_py):
    """build_py, then locales/<lang>/LC_MESSAGES/*.po compiled into the built package (fuzzy entries left out, as
    `pybabel compile` does). An editable install reads the source tree's locales/ instead."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for target in self._compile_catalogs():
            self.announce(f"compiled {target}", level=2)

    def _compile_catalogs(self) -> list[Path]:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        written = []
        catalogs = sorted(LOCALES.glob("*/LC_MESSAGES/*.po"))
        if not catalogs:
            raise SystemExit(f"no translations under {LOCALES}: the package would have none")
        for po in catalogs:
            target = Path(self.build_lib, "bot", "locales", po.relative_to(LOCALES)).with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=po.relative_to(LOCALES).parts[0])
            with target.open("wb") as handle:
                write_mo(handle, catalog)
            written.append(target)
        return written

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs += [str(Path(self.build_lib, "bot", "locales", po.relative_to(LOCALES)).with_suffix(".mo"))
                        for po in sorted(LOCALES.glob("*/LC_MESSAGES/*.po"))]
        return outputs


setup(cmdclass={"build_py": BuildWithCatalogs})
