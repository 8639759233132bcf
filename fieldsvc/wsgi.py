"""WSGI entry point for gunicorn: `gunicorn fieldsvc.wsgi:app`."""
import gc

from . import create_app
from .throttle import warn_if_counted_per_process

app = create_app()
warn_if_counted_per_process(app)  # a WSGI server may run several workers: each would count apart
# Everything loaded so far (modules, mappers, templates' environment) lives as long as the
# worker: keep it out of the garbage collector's full passes, which otherwise stall requests
# that allocate a lot (e.g. ranking a thousand installers) by tens of milliseconds.
gc.freeze()
