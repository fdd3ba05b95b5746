"""A TCP forwarder a test can cut and restore: a backing service "going down" for one server
process, while the machine's real PostgreSQL and Redis keep serving everyone else."""

from __future__ import annotations

import contextlib
import socket
import threading


class Forwarder:
    """Listens on a free local port and relays each connection to ``target``. ``cut()`` closes
    every relayed connection and refuses new ones (accepted and closed at once, as a service
    that is restarting); ``restore()`` relays again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.is_cut = False
        self.closed = False
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True, name=f"forwarder-{self.port}").start()

    def cut(self) -> None:
        with self.lock:
            self.is_cut = True
            dropped, self.open = self.open, set()
        for sock in dropped:
            _close(sock)

    def restore(self) -> None:
        with self.lock:
            self.is_cut = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                refused = self.is_cut
            if refused:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self.lock:
                if self.is_cut:  # cut while connecting
                    _close(client)
                    _close(upstream)
                    continue
                self.open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open.discard(source)
                self.open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
