"""Build hook: ship ``templates/``, ``static/`` and ``migrations/`` inside the package.

They stay at the top of the repository (the app is developed and run from there); a built
wheel (``pip install .``) carries them as ``auditapp/templates`` etc., where
``auditapp.config.resource_dir`` finds them. Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: Top-level folders copied into the built package.
RESOURCE_DIRS = ("templates", "static", "migrations")


class BuildPyWithResources(build_py):
    def run(self) -> None:
        super().run()
        for name in RESOURCE_DIRS:
            target = Path(self.build_lib) / "auditapp" / name
            self.copy_tree(name, str(target))
            for cache in target.rglob("__pycache__"):
                for f in cache.iterdir():
                    f.unlink()
                cache.rmdir()


setup(cmdclass={"build_py": BuildPyWithResources})
