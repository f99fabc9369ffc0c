"""Loopback ports: a free one to listen on, and a TCP proxy that can cut a connection."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class TcpProxy:
    """Forwards a loopback port to a server; ``cut`` drops and refuses connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._running = False

    def open(self) -> None:
        """Listen and forward (again)."""
        # NOTE(dev): create_server sets SO_REUSEADDR, so the port can be taken again at once.
        self._listener, self._running = socket.create_server(("127.0.0.1", self.port)), True
        self._thread = threading.Thread(target=self._serve, name="tcp-proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close the listener and every forwarded connection."""
        self._running = False
        if self._listener is not None:
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for client, server in pairs:
            for end in (client, server):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _serve(self) -> None:
        assert self._listener is not None
        self._listener.settimeout(0.1)
        while self._running:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=_pump, args=(client, server), daemon=True).start()


def _pump(client: socket.socket, server: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    selector = selectors.DefaultSelector()
    selector.register(client, selectors.EVENT_READ, server)
    selector.register(server, selectors.EVENT_READ, client)
    try:
        while True:
            for key, _ in selector.select(timeout=1):
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if not data:
                    return
                key.data.sendall(data)
    except (OSError, ValueError):
        return
    finally:
        selector.close()
        for end in (client, server):
            end.close()
