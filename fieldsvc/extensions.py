"""The unbound extension singletons, bound to an app in `init_app`."""
from __future__ import annotations

from flask import Flask, Response, request, session
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from . import throttle  # noqa: F401  (registers the database:// store of the sign-in throttle)
from .config import resource_dir
from .db import Base, end_read_only_transaction, watch_engine, watch_sessions

db = SQLAlchemy(model_class=Base)  # the database session and engine
migrate = Migrate()  # `fieldsvc db …` over migrations/
login_manager = LoginManager()  # browser sessions and remember-me cookies
csrf = CSRFProtect()  # CSRF tokens on every state-changing form
babel = Babel()  # zh-CN / en translations and locale selection
compress = Compress()  # zstd / brotli / gzip for stylesheets, scripts and JSON (COMPRESS_MIMETYPES in config)
limiter = Limiter(get_remote_address)  # throttles sign-in attempts (storage: RATELIMIT_STORAGE_URI, fieldsvc.throttle)
# flask-smorest's Api keeps one app and one spec per instance, so fieldsvc.api builds one per app.


def select_locale() -> str:
    """The user's chosen language, else the browser's best match, else Chinese."""
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI, jobs and logs speak English
        return "en"
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_locale() -> str:
    """The request's language as a string ("zh_Hans_CN", "en"), for choosing bilingual names."""
    from flask_babel import get_locale

    return str(get_locale())


def init_app(app: Flask) -> None:
    """Bind every extension to `app`."""
    db.init_app(app)
    watch_sessions(db.session)
    with app.app_context():
        for engine in db.engines.values():
            watch_engine(engine)

    @app.teardown_appcontext  # runs before Flask-SQLAlchemy's own teardown (registered earlier)
    def end_request_transaction(error: BaseException | None) -> None:
        if error is None and db.session.registry.has():
            end_read_only_transaction(db.session())

    migrate.init_app(app, db, directory=str(resource_dir("migrations")), render_as_batch=True)
    compress.init_app(app)

    @app.after_request  # registered after Flask-Compress's, so it runs before it
    def read_static_files_whole(response: Response) -> Response:
        """Hand Flask-Compress a static file read into memory (they are at most ~80 kB): it then
        compresses it in one go, with gzip among the choices, and the file is closed at once
        (Flask-Compress's streaming path leaves it open)."""
        if request.endpoint == "static" and response.direct_passthrough and response.status_code == 200:
            response.direct_passthrough = False
            file = response.response
            try:
                body = b"".join(response.iter_encoded())
            finally:
                if hasattr(file, "close"):
                    file.close()
            response.set_data(body)
        return response

    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=lambda: app.config["TIMEZONE"],
        default_translation_directories=str(resource_dir("translations")),
    )
