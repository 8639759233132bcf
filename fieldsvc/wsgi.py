"""WSGI entry point for gunicorn: `gunicorn fieldsvc.wsgi:app`."""
from . import create_app

app = create_app()
