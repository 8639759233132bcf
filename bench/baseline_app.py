"""The framework-and-database limit of the machine: a bare Flask endpoint doing one versioned
UPDATE and one commit, served exactly like fieldsvc (same gunicorn, same database).

    FIELDSVC_DATABASE_URL=postgresql+psycopg://… gunicorn bench.baseline_app:app
"""
from __future__ import annotations

import os

from flask import Flask, abort, jsonify, request
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["FIELDSVC_DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)

SETUP = """
CREATE TABLE IF NOT EXISTS bench_rows (id integer PRIMARY KEY, version integer NOT NULL,
                                       updated_at timestamptz NOT NULL DEFAULT now())
"""


def setup(rows: int) -> None:
    """Create the table the endpoint updates, with `rows` rows at version 1."""
    with engine.begin() as connection:
        connection.execute(text(SETUP))
        connection.execute(text("DELETE FROM bench_rows"))
        connection.execute(text("INSERT INTO bench_rows (id, version) SELECT g, 1 FROM generate_series(1, :n) g"),
                           {"n": rows})


@app.post("/bump/<int:row_id>")
def bump(row_id: int):
    """One versioned UPDATE and one commit; 409 on a stale version, like a transition."""
    version = int(request.get_json(force=True)["version"])
    with engine.begin() as connection:
        new = connection.execute(
            text("UPDATE bench_rows SET version = version + 1, updated_at = now() "
                 "WHERE id = :id AND version = :v RETURNING version"),
            {"id": row_id, "v": version},
        ).scalar()
    if new is None:
        abort(409)
    return jsonify(version=new)
