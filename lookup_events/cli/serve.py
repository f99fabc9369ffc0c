"""``dtool-lookup serve``: the API, a registrar and watchers, ready to use on a laptop."""

from __future__ import annotations

import sys
import tempfile
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from lookup_events.cli.context import pass_services
from lookup_events.cli.processes import configure_logging, stop_on_signals
from lookup_events.cli.supervisor import Child, Supervisor, command
from lookup_events.config import Settings
from lookup_events.observability import metrics
from lookup_events.services import Services
from lookup_events.store.actors import Actor
from lookup_events.uris import normalise_uri

GRACEFUL_TIMEOUT = 5


class ApiServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn serving the API; each worker builds its own services after the fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        self._services: Services | None = None
        super().__init__()

    def load_config(self) -> None:
        """Apply our options; gunicorn's own command line is not read."""
        for key, value in self._options.items():
            self.cfg.set(key, value)
        self.cfg.set("worker_exit", self._close_services)
        self.cfg.set("child_exit", _forget_worker_metrics)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25.1
            # NOTE(dev): its default path is one per user ($HOME/.gunicorn), which
            # every `serve` on the machine would fight over.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        """Build the API app in a worker process."""
        from lookup_api.app import app_from  # noqa: PLC0415  (only `serve` needs the API)

        self._services = Services(self._settings)
        return app_from(self._services)

    def _close_services(self, server: Any, worker: Any) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


def _forget_worker_metrics(server: Any, worker: Any) -> None:
    metrics.mark_process_dead(worker.pid)


def share_metrics(settings: Settings) -> None:
    """Make this process and its children add up their metrics in one directory.

    A directory inherited from a parent (``serve`` starting ``--api-only``)
    is used as it is: the parent cleared it and its other children count there.
    """
    if metrics.multiprocess_directory():
        return
    directory = settings.metrics_dir or tempfile.mkdtemp(prefix="dtool-lookup-metrics-")
    metrics.use_directory(directory, clear=True)


def bind_address(host: str, port: int) -> str:
    """Return gunicorn's bind string for ``host`` and ``port`` (IPv6 in brackets)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


@click.command("serve")
@click.option("--host", help="Address to bind to (default: DTOOL_LOOKUP_HOST or 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default: DTOOL_LOOKUP_PORT or 5000).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes."
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Threads per worker process.",
)
@click.option(
    "--watch",
    "watch_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Register datasets frozen in this directory (registered as a base URI). Repeatable.",
)
@click.option("--api-only", is_flag=True, help="Serve only the API: no registrar, no watcher.")
@click.option("--quiet", is_flag=True, hidden=True)
@pass_services
def serve(
    services: Services,
    *,
    host: str | None,
    port: int | None,
    workers: int,
    threads: int,
    watch_dirs: tuple[str, ...],
    api_only: bool,
    quiet: bool,
) -> None:
    """Serve the API and register datasets as they are frozen.

    Runs the API, a registrar, with --watch a watcher and, when
    DTOOL_LOOKUP_SUBSCRIPTIONS is on, the deliverer as child processes.
    On embedded defaults (SQLite) it creates the database and a key
    pair if there are none; a server database must have been brought up to
    date with `db upgrade`, and its public key configured.
    """
    services.ensure_schema()
    settings = services.api_settings()  # an embedded deployment makes its key pair here
    address = bind_address(host or settings.host, settings.port if port is None else port)
    if not api_only:
        watched = [watched_base_uri(services, path) for path in watch_dirs]
        configure_logging(services, "serve")
        services.close()
        share_metrics(settings)
        _greet(settings, address)
        deliver = settings.subscriptions
        sys.exit(supervise(address, workers, threads, watched, deliver=deliver))
    configure_logging(services, "api")
    share_metrics(settings)
    if not quiet:
        _greet(settings, address)
    options = {
        "bind": address,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "proc_name": "dtool-lookup",
    }
    ApiServer(settings, options).run()


def watched_base_uri(services: Services, path: str) -> str:
    """Return the base URI of a directory to watch, registering it if it is new."""
    base_uri = normalise_uri(path)
    if services.admin.add_base_uri(base_uri, Actor.command("serve --watch")):
        click.echo(f"Registered base URI {base_uri}")
    return base_uri


def supervise(
    address: str, workers: int, threads: int, watched: list[str], *, deliver: bool = False
) -> int:
    """Run the API, the registrar, the watcher and the deliverer as children until stopped."""
    host, _, port = address.rpartition(":")
    api = ["serve", "--api-only", "--quiet", "--host", host.strip("[]"), "--port", port]
    api += ["--workers", str(workers), "--threads", str(threads)]
    children = [
        Child("API", command(*api), essential=True),
        Child("registrar", command("registrar")),
    ]
    if watched:
        click.echo("Watching " + ", ".join(watched))
        # NOTE(dev): its figures reach the API's /metrics; two listeners would fight for a port.
        children.append(Child("watcher", command("watch", "--metrics-address", "off", *watched)))
    if deliver:
        children.append(Child("deliverer", command("deliver")))
    with stop_on_signals() as stop:
        return Supervisor(children).run(stop)


def _greet(settings: Settings, address: str) -> None:
    click.echo(f"dtool-lookup serving http://{address} (data in {settings.data_dir})")
    click.echo("To get an admin token, run with the same environment:")
    click.echo("  dtool-lookup user add --is-admin NAME")
    click.echo("  dtool-lookup user token NAME")
    click.echo(
        f"and paste it into the web app at http://{address}/ (unless DTOOL_LOOKUP_WEBAPP=false)"
    )
