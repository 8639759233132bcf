"""WSGI entry point for gunicorn: `gunicorn fieldsvc.wsgi:app`."""
import gc

from . import create_app

app = create_app()
# Everything loaded so far (modules, mappers, templates' environment) lives as long as the
# worker: keep it out of the garbage collector's full passes, which otherwise stall requests
# that allocate a lot (e.g. ranking a thousand installers) by tens of milliseconds.
gc.freeze()
