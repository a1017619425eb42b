"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""

from auditapp import create_app
from config import config_from_env

app = create_app(config_from_env())
