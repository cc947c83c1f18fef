"""A ClickHouse HTTP endpoint served by the ClickHouse engine in chDB, for testing the server road.

No ClickHouse server can be installed here (STACK.md), so tests of "vitrine against a server" run
this in a child process: it speaks ClickHouse's HTTP interface (query in the URL or the body,
``param_*`` bindings, ``INSERT … FORMAT`` with the data in the body, errors as HTTP 500 with the
exception text) and executes every statement in a real ClickHouse engine. It keeps a log of the
statements it ran, so tests can see what was pushed down to ClickHouse.

Run: ``python -m tests.clickhouse_http DATA_DIR PORT_FILE LOG_FILE``.
"""

from __future__ import annotations

import re
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

INSERT_WITH_DATA = re.compile(r"^\s*INSERT\s+INTO\s+(.+?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)


def serve(data_dir: str, port_file: str, log_file: str) -> None:
    from chdb import session

    engine = session.Session(data_dir)
    lock = threading.Lock()
    log = open(log_file, "a", buffering=1, encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            body = self._body()
            if self.headers.get("Content-Encoding") == "lz4":
                import lz4.frame

                body = lz4.frame.decompress(body)
            self._answer(body)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)

        def _answer(self, body: bytes) -> None:
            params = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
            query = params.get("query", "")
            bindings = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
            try:
                with lock:
                    data = self._execute(query, body, bindings)
                self._reply(200, data)
            except Exception as exc:  # the engine's error goes back as ClickHouse sends it
                self._reply(500, f"Code: 1. DB::Exception: {exc}".encode(), {"X-ClickHouse-Exception-Code": "1"})

        def _execute(self, query: str, body: bytes, bindings: dict[str, str]) -> bytes:
            if not query and body[:6].upper() == b"INSERT":  # statement and rows in the body
                statement, _, body = body.partition(b"\n")
                query = statement.decode()
            insert = INSERT_WITH_DATA.match(query) if query and body else None
            if insert:
                with tempfile.NamedTemporaryFile(suffix=".data") as rows:
                    rows.write(body)
                    rows.flush()
                    sql = f"INSERT INTO {insert.group(1)} SELECT * FROM file('{rows.name}', '{insert.group(2)}')"
                    log.write(sql.replace("\n", " ") + "\n")
                    engine.query(sql, "Null")
                return b""
            sql = f"{query}\n{body.decode()}" if query else body.decode()
            log.write(sql.replace("\n", " ") + "\n")
            fmt = "TabSeparated"
            match = re.search(r"\bFORMAT\s+(\w+)\s*$", sql)
            if match:
                fmt, sql = match.group(1), sql[: match.start()]
            result = engine.query(sql, fmt, params=bindings or None)
            return result.bytes() if result is not None else b""

        def _reply(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    serve(*sys.argv[1:4])
