"""Test doubles for the sales agent: a scripted chat model and a fake OpenAI-compatible HTTP server.

Used by the tests and by bench_chat.py; nothing in the running agent imports this module.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

Step = Callable[[list[BaseMessage]], AIMessage] | AIMessage | dict | str


def call(name: str, **args: Any) -> dict[str, Any]:
    """One tool call for a scripted step: ``call("search_products", query="jacket")``."""
    return {"name": name, "args": args}


def last_tool_result(messages: Sequence[BaseMessage], name: str | None = None) -> dict[str, Any] | None:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return None
        if isinstance(message, ToolMessage) and (name is None or message.name == name):
            try:
                return json.loads(message.text)
            except (TypeError, ValueError):
                return {"raw": message.content}
    return None


def _turn_messages(messages: Sequence[BaseMessage]) -> tuple[str, int]:
    """The latest shopper text and how many model answers were already given to it."""
    steps = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return str(message.content), steps
        if isinstance(message, AIMessage):
            steps += 1
    return "", steps


class ScriptedChatModel(BaseChatModel):
    """Answers by rules: the first rule whose regex matches the shopper's latest message gives the steps.

    A step is a list of tool calls (``[call(...), ...]``), a reply string, an AIMessage, or a function
    of the messages returning one of those. After the last step the model writes ``final`` (default: a
    short echo of the last tool result), so every turn ends in a plain reply.
    """

    rules: list[tuple[str, list[Any]]] = []
    default_reply: str = "(scripted) I did not understand that."
    calls_seen: list[list[dict]] = []

    model_config = {"arbitrary_types_allowed": True}

    @property
    def _llm_type(self) -> str:
        return "scripted-test-model"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "ScriptedChatModel":
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text, step = _turn_messages(messages)
        message = self._answer(messages, text, step)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _answer(self, messages: list[BaseMessage], text: str, step: int) -> AIMessage:
        for pattern, steps in self.rules:
            if re.search(pattern, text, re.I):
                if step < len(steps):
                    return self._as_message(steps[step], messages)
                result = last_tool_result(messages)
                return AIMessage(content=f"(scripted) done: {json.dumps(result)[:300] if result else 'ok'}")
        return AIMessage(content=self.default_reply)

    def _as_message(self, step: Any, messages: list[BaseMessage]) -> AIMessage:
        if callable(step) and not isinstance(step, (AIMessage, dict, str, list)):
            step = step(messages)
        if isinstance(step, AIMessage):
            return step
        if isinstance(step, str):
            return AIMessage(content=step)
        if isinstance(step, dict):
            step = [step]
        tool_calls = [
            {"name": c["name"], "args": c.get("args", {}), "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
            for c in step
        ]
        return AIMessage(content="", tool_calls=tool_calls)


# ---------------------------------------------------------------------------------------------
# a fake OpenAI-compatible server (for the SALES_AGENT_MODEL=openai:<model> path)
# ---------------------------------------------------------------------------------------------
class FakeOpenAIServer:
    """``/v1/chat/completions`` on 127.0.0.1, answering from a queue of scripted replies.

    Each reply is ``{"tool_calls": [(name, args), ...]}`` (args a dict, or a string sent as is, e.g. malformed
    JSON) or ``{"content": "text"}``; ``{"status": 500}`` answers an error and ``"delay": seconds`` stalls
    first. A request asking for ``"stream": true`` is answered in server-sent chunks (``"chunks"``: the pieces of
    the content; ``"chunk_delay"``: seconds between them). Requests are kept in ``self.requests`` (parsed JSON)
    so a test can see what the model was sent. ``tool_call_id`` gives every tool call that id (``"call_0"``: a
    server that promises nothing about them); by default they are random.
    """

    def __init__(self, replies: list[dict[str, Any]] | None = None, *, tool_call_id: str | None = None):
        self.replies = list(replies or [])
        self.tool_call_id = tool_call_id
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                return

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server._lock:
                    server.requests.append(body)
                    reply = server.replies.pop(0) if server.replies else {"content": "(fake openai) nothing scripted"}
                if reply.get("delay"):  # a stalled model
                    time.sleep(reply["delay"])
                if reply.get("status"):  # a failing model server
                    self._send(reply["status"], {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                if body.get("stream"):  # what a LangChain streaming call asks for: server-sent chunks
                    self._send_stream(server.completion_chunks(body, reply), float(reply.get("chunk_delay") or 0))
                    return
                self._send(200, server.completion(body, reply))

            def _send_stream(self, chunks: list[dict], delay: float):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")  # the body ends when the connection does
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if delay:
                        time.sleep(delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _send(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def completion(self, request: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
        finish = "stop"
        if reply.get("tool_calls"):
            message["tool_calls"] = [
                {
                    "id": self.tool_call_id or f"call_{uuid.uuid4().hex[:10]}",
                    "type": "function",
                    "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
                }
                for name, args in reply["tool_calls"]
            ]
            message["content"] = reply.get("content")
            finish = "tool_calls"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:10]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "test-model"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def completion_chunks(self, request: dict[str, Any], reply: dict[str, Any]) -> list[dict[str, Any]]:
        """The same answer as ``completion``, as streamed ``chat.completion.chunk`` objects: the content in pieces
        (``reply["chunks"]``, else a word at a time), then any tool calls, the finish reason and the usage."""
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:10]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.get("model", "test-model"),
        }

        def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": d, "finish_reason": finish, "logprobs": None}]}

        chunks = [delta({"role": "assistant", "content": ""})]
        pieces = reply.get("chunks") or re.findall(r"\S+\s*", reply.get("content") or "")
        chunks += [delta({"content": piece}) for piece in pieces]
        for i, (name, args) in enumerate(reply.get("tool_calls") or []):
            call = {
                "index": i,
                "id": self.tool_call_id or f"call_{uuid.uuid4().hex[:10]}",
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
            chunks.append(delta({"tool_calls": [call]}))
        chunks.append(delta({}, "tool_calls" if reply.get("tool_calls") else "stop"))
        if (request.get("stream_options") or {}).get("include_usage"):
            chunks.append(
                {**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
            )
        return chunks

    def __enter__(self) -> "FakeOpenAIServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------------------------------------
# building a session for tests
# ---------------------------------------------------------------------------------------------
def session_for_tests(
    tmp_path,
    model=None,
    *,
    database_url: str | None = None,
    memory_url: str | None = None,
    vault=None,
    clients=None,
    settings_overrides: dict | None = None,
):
    """A SalesSession on fresh databases under ``tmp_path`` (or the given URLs), with ``model``."""
    from .bootstrap import build_session
    from .cards import CardVault
    from .settings import Settings

    settings = Settings(
        database_url=database_url or f"sqlite:///{tmp_path / 'sales.db'}",
        memory_url=memory_url or str(tmp_path / "sales-memory.db"),
        **(settings_overrides or {}),
    )
    return build_session(settings, model=model, vault=vault or CardVault(), clients=clients)


def invoke_tool(
    service, name: str, user_id: str, channel: str = "test", tool_call_id: str | None = None, **args: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run one @tool the way the agent graph does (ToolCall + ToolRuntime): (parsed result, recorded calls)."""
    from langchain.tools import ToolRuntime

    from .context import SalesContext
    from .tools import build_tools

    by_name = {t.name: t for t in build_tools()}
    call_id = tool_call_id or f"call_{uuid.uuid4().hex[:8]}"
    runtime: ToolRuntime[SalesContext] = ToolRuntime(
        state={"messages": []},
        context=SalesContext(user_id, channel, service),
        config={},
        stream_writer=lambda _chunk: None,
        tool_call_id=call_id,
        store=None,
    )
    message = by_name[name].invoke(
        {"type": "tool_call", "name": name, "id": call_id, "args": {**args, "runtime": runtime}}
    )
    return json.loads(message.content), (message.artifact or {}).get("calls", [])


class FakeAgents:
    """Every agent answered by ``responses`` from its contract: 2xx examples, error envelopes, timeouts or a
    refused connection, per operation. Every request is checked against the contract (``problems``)."""

    def __init__(self, rsps, base_urls: dict[str, str]):
        from agentkit.contracts import load_contract

        self.contracts = {name: load_contract(name) for name in base_urls}
        self.base_urls = base_urls
        self.modes: dict[tuple[str, str], str] = {}
        self.bodies: dict[tuple[str, str], tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.problems: list[str] = []
        for agent, base in base_urls.items():
            for method in ("POST", "GET"):
                rsps.add_callback(method, re.compile(re.escape(base) + r"/.*"), callback=self._callback(agent))

    def fail(self, agent: str, op: str, mode: str) -> None:
        """mode: ok | error | timeout | refused"""
        self.modes[(agent, op)] = mode

    def answer(self, agent: str, op: str, status: int, body: dict) -> None:
        self.bodies[(agent, op)] = (status, body)

    def calls(self, agent: str | None = None, op: str | None = None) -> list[dict]:
        return [body for a, o, body, _ in self.requests if (agent is None or a == agent) and (op is None or o == op)]

    def _callback(self, agent: str):
        from urllib.parse import urlsplit

        import requests as _requests

        contract = self.contracts[agent]
        by_path = {op.path: op for op in contract.operations.values()}

        def callback(request):
            path = urlsplit(request.url).path
            op = by_path.get(path)
            if op is None:
                return 404, {}, json.dumps({"error": {"code": "not_found", "message": "no route", "details": []}})
            body = json.loads(request.body or b"{}")
            headers = dict(request.headers)
            self.requests.append((agent, op.op_id, body, headers))
            for problem in op.request_validator.problems(body):
                self.problems.append(f"{agent}.{op.op_id}: {problem.field}: {problem.message}")
            mode = self.modes.get((agent, op.op_id), "ok")
            if mode == "timeout":
                raise _requests.exceptions.ReadTimeout(f"{agent} timed out (fake)")
            if mode == "refused":
                raise _requests.exceptions.ConnectionError(f"{agent} refused the connection (fake)")
            if mode == "error":
                status = next(
                    (
                        s
                        for s in (404, 422, 409, 402)
                        if s in op.response_validators and str(s) in op.response_schemas and s != 400
                    ),
                    404,
                )
                envelope = {
                    "error": {
                        "code": f"fake_{status}",
                        "message": f"fake {status} from {agent}.{op.op_id}",
                        "details": [{"field": "x", "message": "fake"}],
                    }
                }
                if status == 402:
                    envelope["error"].update(declineCode="insufficient_funds", suggestions=["Use another card"])
                return status, {"Content-Type": "application/json"}, json.dumps(envelope)
            if (agent, op.op_id) in self.bodies:
                status, payload = self.bodies[(agent, op.op_id)]
            else:
                status, payload = self.example(op)
            return status, {"Content-Type": "application/json"}, json.dumps(payload)

        return callback

    @staticmethod
    def example(op) -> tuple[int, dict]:
        for example in op.examples:
            response = example["response"]
            if 200 <= response["status"] < 300 and not op.response_problems(response["status"], response["body"]):
                return response["status"], response["body"]
        raise LookupError(f"{op.contract_name}.{op.op_id} has no valid 2xx example; give one with answer()")


def whatsapp_headers(raw: bytes, secret: str) -> dict[str, str]:
    """The signature header WhatsApp sends with ``raw``: an HMAC-SHA256 of the body with the app secret."""
    import hashlib
    import hmac

    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()}


def telegram_headers(secret: str) -> dict[str, str]:
    """The header Telegram sends with every update when the webhook was set with ``secret_token``."""
    return {"X-Telegram-Bot-Api-Secret-Token": secret}


def session_headers(user_id: str, **kwargs: Any) -> dict[str, str]:
    """The Authorization header of a shopper session for a sales service started from this environment (its
    SALES_SESSION_SECRET, or the secret under its VAR_DIR): what ``python -m sales_agent token`` prints."""
    from .auth import SessionAuth

    return {"Authorization": "Bearer " + SessionAuth().mint(user_id, **kwargs)}


def app_session_headers(app: Any, user_id: str, **kwargs: Any) -> dict[str, str]:
    """The same for an in-process app: a session minted by the app's own SessionAuth (``lifetime=-60`` makes an
    expired one, ``guest=True`` a guest's). sales-agent/tests/conftest.py serves it as ``shopper_headers``."""
    return {"Authorization": "Bearer " + app.extensions["sales_auth"].mint(user_id, **kwargs)}
