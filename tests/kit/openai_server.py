"""A scriptable OpenAI-compatible chat server on 127.0.0.1 for client tests (started in the test, no network).

``script`` holds the replies to the next requests, in order (``(status, headers, body)`` or a function of the
request); when it is empty, ``default`` answers. :func:`echo_key_401` is what careless servers do: a 401 whose
message repeats the ``Authorization`` header it got.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON body
Request = dict[str, Any]  # {"path", "headers", "body"}


def chat_reply(content: str, finish_reason: str = "stop") -> Reply:
    return 200, {}, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                  "finish_reason": finish_reason}]}  # fmt: skip


def echo_key_401(request: Request) -> Reply:
    """``HTTP 401: Incorrect API key provided: Bearer sk-...`` (the header as the server got it)."""
    given = request["headers"].get("Authorization", "(none)")
    return 401, {}, {"error": {"message": f"Incorrect API key provided: {given}", "type": "invalid_request_error"}}


def echo_last_user_turn(request: Request) -> Reply:
    return chat_reply("RU:" + request["body"]["messages"][-1]["content"])


class FakeOpenAI:
    """Records every request; ``delay`` seconds pass before each answer (for timeouts)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: list[Reply | Callable[[Request], Reply]] = []
        self.default: Callable[[Request], Reply] = echo_last_user_turn
        self.delay = 0.0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                request = {"path": self.path, "headers": dict(self.headers), "body": body}
                with server.lock:
                    server.requests.append(request)
                    step = server.script.pop(0) if server.script else server.default
                if server.delay:
                    time.sleep(server.delay)
                status, headers, payload = step(request) if callable(step) else step
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        # shutdown() waits for the serving loop's next poll: 0.5 s by default, paid by every test that closes one
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
