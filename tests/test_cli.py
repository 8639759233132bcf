"""The `fieldsvc` commands of PRODUCT.md §5."""
from __future__ import annotations

import subprocess
import sys

from flask import Flask
from sqlalchemy import func, select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.models import ApiToken, Role, User
from fieldsvc.auth.services import verify_password
from fieldsvc.extensions import db
from tests import factories as f


def test_create_user_with_team_and_password(app: Flask) -> None:
    with app.app_context():
        f.make_team("HS01")
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "w30001", "--role", "installer", "--team", "HS01",
                                 "--name", "李强", "--password", "a-long-password"])
    assert result.exit_code == 0, result.output
    supervisor = runner.invoke(args=["create-user", "s9", "--role", "supervisor", "--team", "HS01", "--password", "another-password"])
    assert supervisor.exit_code == 0, supervisor.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "w30001"))
        assert user.role is Role.INSTALLER and user.team.code == "HS01" and user.name == "李强"
        assert verify_password(user.password_hash, "a-long-password")
        assert "a-long-password" not in user.password_hash
        boss = db.session.scalar(select(User).where(User.username == "s9"))
        assert [t.code for t in boss.supervised_teams] == ["HS01"] and boss.team is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.object_key == "w30001"))
        assert entry.action == "user.create" and entry.actor_id is None and entry.after["role"] == "installer"


def test_create_user_prompts_for_the_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-user", "admin2", "--role", "admin"],
                                          input="prompted-secret\nprompted-secret\n")
    assert result.exit_code == 0, result.output
    assert "prompted-secret" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "admin2"))
        assert verify_password(user.password_hash, "prompted-secret")


def test_create_user_refusals_change_nothing(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-user", "x1", "--role", "installer", "--team", "NOPE", "--password", "long-enough"]).exit_code == 1
    assert runner.invoke(args=["create-user", "x2", "--role", "installer", "--password", "short"]).exit_code == 1
    assert runner.invoke(args=["create-user", "x3", "--role", "boss", "--password", "long-enough"]).exit_code == 2
    assert runner.invoke(args=["create-user", "x4", "--role", "admin", "--password", "long-enough"]).exit_code == 0
    duplicate = runner.invoke(args=["create-user", "x4", "--role", "admin", "--password", "long-enough"])
    assert duplicate.exit_code == 1 and "taken" in duplicate.output
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == ["x4"]


def test_create_token_prints_the_token_last_and_it_works(app: Flask) -> None:
    with app.app_context():
        f.make_user(Role.ADMIN, username="crm")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["create-token", "crm"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with app.app_context():
        assert db.session.scalar(select(ApiToken.prefix)) == token[:10]
    response = app.test_client().get("/api/v1/installers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert app.test_cli_runner().invoke(args=["create-token", "nobody"]).exit_code == 1


def test_metrics_compute_backfills_with_progress_and_resumes(app: Flask) -> None:
    from fieldsvc.metrics.models import JobRun
    from fieldsvc.snapshots.models import MetricSnapshot

    runner = app.test_cli_runner()
    result = runner.invoke(args=["metrics", "compute", "--from", "2026-02-01", "--to", "2026-02-10"])
    assert result.exit_code == 0, result.output
    assert "10/10" in result.output and "10 succeeded" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(func.distinct(MetricSnapshot.period_start)))) == 10
        assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.name == "backfill_day")) == 10
    # Run again over a longer range: the days done are skipped, only the new ones computed.
    again = runner.invoke(args=["metrics", "compute", "--from", "2026-02-01", "--to", "2026-02-12"])
    assert again.exit_code == 0 and "2 succeeded" in again.output and "10 skipped" in again.output
    redo = runner.invoke(args=["metrics", "compute", "--from", "2026-02-01", "--to", "2026-02-28",
                               "--period", "month", "--redo"])
    assert redo.exit_code == 0 and "1 succeeded" in redo.output
    assert runner.invoke(args=["metrics", "compute", "--from", "2026-02-10", "--to", "2026-02-01"]).exit_code == 2


def test_console_script_lists_every_command() -> None:
    result = subprocess.run([sys.executable, "-c", "from fieldsvc.cli import main; main()", "--help"],
                            capture_output=True, text=True, check=True,
                            env={"FIELDSVC_DATABASE_URL": "sqlite://", "FIELDSVC_SECRET_KEY": "x", "PATH": ""})
    for command in ("run", "db", "demo", "seed-demo", "create-user", "create-token", "scheduler", "metrics"):
        assert f"  {command} " in result.stdout, result.stdout


def test_fieldsvc_run_serves_pages(tmp_path) -> None:
    """`fieldsvc run` really serves (Flask ignores app.run() inside a CLI command)."""
    import os
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "FIELDSVC_DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "FIELDSVC_SECRET_KEY": "x"}
    server = subprocess.Popen([sys.executable, "-c", "from fieldsvc.cli import main; main()", "run", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "fieldsvc run did not answer"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_seed_reference_adds_the_stable_codes_once(app: Flask) -> None:
    from fieldsvc.workforce.models import District, JobType

    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-reference"]).exit_code == 0
    with app.app_context():
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        repair.deadline_hours = 12  # an admin's change survives a second run
        db.session.commit()
    assert runner.invoke(args=["seed-reference"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(District)) == 13
        assert db.session.scalar(select(JobType.deadline_hours).where(JobType.code == "repair")) == 12


def test_create_team_then_its_installer(app: Flask) -> None:
    from fieldsvc.workforce.models import Team

    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-reference"]).exit_code == 0
    made = runner.invoke(args=["create-team", "HS09", "--name-zh", "洪山光谷装维九班", "--name-en", "Guanggu Crew 9",
                               "--district", "hongshan", "--district", "wuchang"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(args=["create-team", "HS09", "--name-zh", "x", "--name-en", "x", "--district", "hongshan"]).exit_code == 1
    assert runner.invoke(args=["create-team", "HS10", "--name-zh", "x", "--name-en", "x", "--district", "mars"]).exit_code == 1
    assert runner.invoke(args=["create-user", "w1", "--role", "installer", "--team", "HS09",
                               "--password", "long-enough-1"]).exit_code == 0
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.code == "HS09"))
        from fieldsvc.workforce.models import District

        assert {d.code for d in team.districts} == {"hongshan", "wuchang"}
        assert team.home_district_id == db.session.scalar(select(District.id).where(District.code == "hongshan"))
        assert db.session.scalar(select(func.count()).select_from(Team)) == 1


def test_create_user_refuses_weak_passwords(app: Flask) -> None:
    runner = app.test_cli_runner()
    for username, password, says in (("w40001", "12345678", "at least 10 characters"),
                                     ("w40001", "password", "at least 10 characters"),
                                     ("w40001", "password123", "most common"),
                                     ("zhangwei2026", "zhangwei2026", "employee number")):
        result = runner.invoke(args=["create-user", username, "--role", "installer", "--password", password])
        assert result.exit_code == 1 and says in result.output, result.output
    prompted = runner.invoke(args=["create-user", "w40001", "--role", "installer"], input="1234567890\n1234567890\n")
    assert prompted.exit_code == 1 and "most common" in prompted.output
    with app.app_context():
        assert db.session.scalars(select(User.username)).all() == []
