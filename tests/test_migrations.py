"""The committed Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from auditapp import create_app
from auditapp.extensions import db


def test_migrations_match_models(tmp_path, database_url):
    if database_url is not None:
        import pytest

        pytest.skip("checked on SQLite; PostgreSQL uses the same migration files")
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite'}",
                      "UPLOAD_FOLDER": str(tmp_path / "files")})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        db.engine.dispose()
