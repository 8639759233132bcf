"""A built wheel carries templates/, static/, migrations/ and the catalogues, and serves pages."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
import fieldsvc
import fieldsvc.demo
from fieldsvc import create_app, resource_dir
assert fieldsvc.__file__.startswith(sys.argv[1]), fieldsvc.__file__
assert fieldsvc.demo.__file__.startswith(sys.argv[1]), fieldsvc.demo.__file__
for name in ("templates", "static", "migrations", "translations"):
    assert str(resource_dir(name)).startswith(sys.argv[1]), (name, resource_dir(name))
app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "TESTING": True})
client = app.test_client()
page = client.get("/login", headers={"Accept-Language": "zh-CN"})
assert page.status_code == 200 and "登录" in page.get_data(as_text=True), page.status_code
assert client.get("/static/css/app.css").status_code == 200
assert client.get("/static/vendor/pico/pico.min.css").status_code == 200
print("wheel ok")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True)
    (built,) = out.glob("fieldsvc-*.whl")
    return built


def test_wheel_contains_the_top_level_folders(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("fieldsvc/templates/base.html", "fieldsvc/static/css/app.css",
                     "fieldsvc/static/vendor/pico/pico.min.css", "fieldsvc/migrations/env.py",
                     "fieldsvc/translations/zh_Hans_CN/LC_MESSAGES/messages.mo", "fieldsvc/demo/__init__.py",
                     "fieldsvc/demo/orders.py"):
        assert required in names, required
    assert any(n.startswith("fieldsvc/migrations/versions/") and n.endswith(".py") for n in names)


def test_an_installed_wheel_serves_a_page(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    result = subprocess.run([sys.executable, "-c", PROBE, str(target)], capture_output=True, text=True,
                            env={"PYTHONPATH": str(target), "PATH": ""}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wheel ok" in result.stdout
