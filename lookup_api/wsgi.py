"""The module a WSGI server imports: ``gunicorn lookup_api.wsgi:app``."""

from lookup_api.app import get_app

app = get_app()
