"""``pip install .`` (not editable) gives a working app: the wheel carries the templates,
static files, migrations and message catalogues, and the installed app — run from a
directory outside the source tree — migrates its database and serves pages from them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Run in the installed app: where it found its files, and what a visitor gets.
CHECK = """
import json, auditapp
from auditapp import create_app
app = create_app()
client = app.test_client()
pages = {
    "login": client.get("/auth/login"),
    "login_zh": client.get("/auth/login", headers={"Accept-Language": "zh-CN"}),
    "css": client.get("/static/css/app.css"),
    "missing": client.get("/no-such-page"),
}
print(json.dumps({
    "package": auditapp.__file__, "templates": app.template_folder,
    "static": app.static_folder, "instance": app.instance_path,
    **{name: [r.status_code, r.get_data(as_text=True)] for name, r in pages.items()},
}))
"""


@pytest.mark.slow
def test_a_built_wheel_installs_and_serves_pages(tmp_path):
    # the source as a checkout has it (with the compiled catalogue, made at session start)
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "instance", "*.egg-info", "__pycache__",
        ".pytest_cache", ".ruff_cache", "tests", "benchmarks"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                    str(src)], check=True, capture_output=True)
    (wheel,) = wheels.glob("auditapp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("auditapp/templates/base.html", "auditapp/static/css/app.css",
                 "auditapp/migrations/env.py",
                 "auditapp/translations/zh_CN/LC_MESSAGES/messages.po",
                 "auditapp/translations/zh_CN/LC_MESSAGES/messages.mo"):
        assert name in names, name

    # a fresh virtualenv with the wheel installed; the dependencies come from this one's
    # site-packages, added as a plain path (so its editable auditapp is not seen)
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    env_site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (env_site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)

    run = tmp_path / "elsewhere"
    run.mkdir()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("AUDITAPP_", "DATABASE_URL", "REDIS_URL", "FLASK_"))}
    environ.update(DATABASE_URL=f"sqlite:///{run / 'app.sqlite'}", PYTHONPATH="")
    migrated = subprocess.run([str(python), "-m", "flask", "--app", "auditapp", "init-db"],
                              cwd=run, env=environ, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    checked = subprocess.run([str(python), "-c", CHECK], cwd=run, env=environ,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    import json

    out = json.loads(checked.stdout.strip().splitlines()[-1])
    installed = str(env_site / "auditapp")
    assert out["package"].startswith(installed)
    assert out["templates"] == f"{installed}/templates"
    assert out["static"] == f"{installed}/static"
    assert not out["instance"].startswith(str(ROOT))
    assert out["login"][0] == 200 and "Log in" in out["login"][1]
    assert out["login_zh"][0] == 200 and "登录" in out["login_zh"][1]
    assert out["css"][0] == 200 and "{" in out["css"][1]
    assert out["missing"][0] == 404 and "This page does not exist" in out["missing"][1]
