"""What every command works with, built lazily from the environment in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import click

from lookup_events.config import Settings
from lookup_events.registrar.writer import Registrar
from lookup_events.store import Stores, open_stores, upgrade_database
from lookup_events.store.protocols import AdminStore, DatasetStore


class CommandFailed(click.ClickException):
    """A command could not do what was asked; the message goes to stderr, exit 1."""

    def show(self, file: Any = None) -> None:
        """Print the bare message in red, as the 0.18 ``flask`` commands did."""
        click.secho(self.format_message(), fg="red", err=True)


def fail(message: str) -> NoReturn:
    """Stop the command with ``message`` on stderr and exit code 1."""
    raise CommandFailed(message)


def store_urls(settings: Settings) -> list[str]:
    """Return the distinct SQL URLs of the admin and dataset stores."""
    urls = [settings.database_url, settings.dataset_store_url]
    return [url for i, url in enumerate(urls) if url not in urls[:i] and _is_sql(url)]


def _is_sql(url: str) -> bool:
    return not url.startswith(("mongodb://", "mongodb+srv://"))


def migrate(settings: Settings, urls: list[str] | None = None) -> None:
    """Bring the SQL stores (all, or those at ``urls``) to the newest schema."""
    for url in store_urls(settings) if urls is None else urls:
        upgrade_database(url)


class CliContext:
    """Settings, stores and registrar of one command run, each made on first use."""

    def __init__(self, settings_factory: Callable[[], Settings] = Settings.from_env) -> None:
        self._settings_factory = settings_factory
        self._settings: Settings | None = None
        self._stores: Stores | None = None

    @property
    def settings(self) -> Settings:
        """The settings, read from the environment on first use."""
        if self._settings is None:
            self._settings = self._settings_factory()
        return self._settings

    @property
    def stores(self) -> Stores:
        """The open stores; SQLite stores are migrated first, as they are local."""
        if self._stores is None:
            settings = self.settings
            # NOTE(dev): local SQLite files need no separate `db upgrade`; a shared
            # server database is only ever migrated by an explicit `db upgrade`.
            migrate(settings, [url for url in store_urls(settings) if url.startswith("sqlite")])
            try:
                self._stores = open_stores(settings)
            except ValueError as ex:  # a URL naming a backend this build lacks
                fail(str(ex))
        return self._stores

    @property
    def admin(self) -> AdminStore:
        """The admin store (users, base URIs, permissions)."""
        return self.stores.admin

    @property
    def datasets(self) -> DatasetStore:
        """The dataset store."""
        return self.stores.datasets

    def registrar(self) -> Registrar:
        """Return a registrar writing to this run's stores."""
        return Registrar(self.admin, self.datasets)

    def close(self) -> None:
        """Close the stores if they were opened."""
        if self._stores is not None:
            self._stores.close()
            self._stores = None


pass_cli = click.make_pass_decorator(CliContext, ensure=True)
