"""The terminal chat: ``python -m sales_agent chat [--user U1001]`` (``make chat``).

It starts the agent services if they are not running, greets a returning shopper with what they had
in progress, and then chats: each reply is followed by one dim line per agent call
("inventory · checkInventory · 12 ms"), and a checkout asks "Confirm payment of ₹X? [y/n]" before
anything is charged. Commands: /cart, /user NAME_OR_ID, /reset, /help, /quit. Ctrl-D or Ctrl-C exits.
A failing agent or odd input never shows a traceback: the turn is apologised for and the chat goes on.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import select
import signal
import subprocess
import sys
from typing import Any, Callable

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentkit import AgentCallError
from agentkit.contracts import is_valid_id

from ..answers import is_no, is_yes
from ..shoppers import ShopperUnknown, check_exists

log = logging.getLogger("agents.sales.terminal")
DEFAULT_USER = "U1001"
SEED_STYLE_ID = re.compile(r"[uU][0-9]{4,}")  # U1001, typed in any case
PROMPT = "you> "
HELP = """Commands:
  /cart              show your cart
  /user ID_OR_NAME   switch shopper (U1002, or a first name like Arjun); someone new: a new shopper or a guest
  /reset             clear your cart and this conversation (asks first)
  /help              this help
  /quit              leave (Ctrl-D and Ctrl-C work too)

Try: "show me winter jackets under 6000", "is the first one in stock in M in Mumbai?",
"add it in M, Black", "apply coupon WELCOME10", "checkout", "where is my order?"."""


def rupees(value: Any) -> str:
    from ..offline.replies import rupees as fmt

    return fmt(value)


class PromptReader:
    """``input()`` without its lost Ctrl-C.

    ``input()`` checks for a signal only when its blocking read is interrupted. A Ctrl-C that lands after
    the prompt is written but before that read starts is noted and then ignored until Enter is pressed;
    on a busy machine that window is wide. Here the signal also writes a byte to a wake-up pipe, and the
    read waits on both the terminal and that pipe, so a Ctrl-C at any moment ends the wait at once.
    """

    def __init__(self, stdin_fd: int | None = None):
        self.fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
        self._pending = b""
        self._wake_r, wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def __call__(self, prompt: str = "") -> str:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        while b"\n" not in self._pending:
            ready, _, _ = select.select([self.fd, self._wake_r], [], [])
            if self._wake_r in ready:
                self._drain_wakeups()  # the handler raises KeyboardInterrupt at the next bytecode
                continue
            chunk = os.read(self.fd, 4096)
            if not chunk:
                if self._pending:
                    break
                raise EOFError
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("utf-8", errors="replace").rstrip("\r")

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass


def default_reader():
    """The prompt reader for this terminal; plain ``input`` when stdin is not a real file (a test's fake)."""
    try:
        sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return input
    return PromptReader()


# --- output -------------------------------------------------------------------------------------


def make_console() -> Console:
    tty = sys.stdout.isatty()
    return Console(force_terminal=None if tty else False, highlight=False, emoji=False)


_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`|(?<![\w*])_([^_]+)_(?!\w)")


def render_reply(text: str) -> Text | Markdown:
    """The reply as rich text: **bold**, `ids` and _notes_ styled, line breaks kept.

    Replies with real Markdown structure (headings, tables, '-' lists: an LLM's answer) go to rich's
    Markdown renderer with hard line breaks."""
    if re.search(r"^(#{1,6} |\|.+\||[-*] )", text, re.M):
        return Markdown(re.sub(r"(?<!\n)\n(?!\n)", "  \n", text))
    out = Text()
    for line_no, line in enumerate(text.split("\n")):
        if line_no:
            out.append("\n")
        pos = 0
        for m in _INLINE.finditer(line):
            out.append(line[pos : m.start()])
            if m.group(1) is not None:
                out.append(m.group(1), style="bold")
            elif m.group(2) is not None:
                out.append(m.group(2), style="cyan")
            else:
                out.append(m.group(3), style="italic")
            pos = m.end()
        out.append(line[pos:])
    return out


def tool_line(call: dict) -> Text:
    ok = call.get("ok", True)
    ms = call.get("ms")
    try:
        timing = f"{float(ms):.0f} ms"  # type: ignore[arg-type]  # None falls to "? ms"
    except (TypeError, ValueError):
        timing = "? ms"
    label = f"{call.get('agent') or 'sales'} · {call.get('operation') or call.get('tool')} · {timing}"
    return Text(("  " if ok else "✗ ") + label, style="dim" if ok else "red")


class Chat:
    """One terminal session: the console, the sales session and the current shopper."""

    def __init__(self, session: Any, console: Console, read: Callable[[str], str] | None = None):
        self.session = session
        self.console = console
        self.read = read or default_reader()
        self.user_id = DEFAULT_USER
        self.name: str | None = None
        self._names: dict[str, str] = {}

    # -- printing ---------------------------------------------------------------------------------
    def say(self, text: str, title: str = "assistant") -> None:
        self.console.print(
            Panel(render_reply(text), title=title, title_align="left", border_style="green", expand=False)
        )

    def show(self, result: Any) -> None:
        self.say(result.reply or "(no reply)")
        for call in result.tool_calls or []:
            self.console.print(tool_line(call))
        if result.pending_confirmation:
            self.confirm(result.pending_confirmation)

    def confirm(self, pending: dict) -> None:
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        for column in ("item", "size", "colour", "qty", "price"):
            table.add_column(column)
        for item in pending.get("items") or []:
            table.add_row(
                str(item.get("name")),
                str(item.get("size")),
                str(item.get("color")),
                str(item.get("quantity")),
                rupees(item.get("unitPrice")),
            )
        if pending.get("items"):
            self.console.print(table)
        total = pending.get("total")
        method = pending.get("paymentMethod")
        if method:
            self.console.print(Text(f"Payment: {method}", style="dim"))
        question = f"Confirm payment of {rupees(total)}? [y/n] " if total is not None else "Place the order? [y/n] "
        while True:
            answer = self.read(question)
            if is_yes(answer):
                approve = True
                break
            if is_no(answer):
                approve = False
                break
            self.console.print("Please answer y or n.")
        with self.console.status("placing your order…" if approve else "cancelling…"):
            result = self.session.confirm(self.user_id, approve, channel="terminal")
        self.show(result)

    # -- shoppers ---------------------------------------------------------------------------------
    def resolve_user(self, value: str) -> str | None:
        """A shopper somebody has, by id (U1001, a guest's id) or first/full name ("priya", "Arjun Mehta");
        None when nobody has that id or name (never another shopper)."""
        value = value.strip()
        if not value:
            return None
        candidates = [value] + ([value.upper()] if SEED_STYLE_ID.fullmatch(value) and value != value.upper() else [])
        for candidate in candidates:
            try:
                return check_exists(self.session.clients, self.session.identities, candidate)
            except ShopperUnknown:
                continue
            except AgentCallError:
                # The profiles cannot be read now: an exact id is taken as typed (it names nobody else).
                log.warning("could not check whether %r is a shopper", candidate, exc_info=True)
                return candidate if is_valid_id("userId", candidate) else None
        wanted = value.lower()
        if not self._names:
            misses = 0
            for number in range(1001, 1100):
                uid = f"U{number}"
                shopper = self.session.shopper(uid)
                if shopper is None:
                    misses += 1
                    if misses >= 3:
                        break
                    continue
                misses = 0
                self._names[uid] = str(shopper.get("name") or "")
        for uid, name in self._names.items():
            if name and (name.lower() == wanted or name.lower().split()[0] == wanted):
                return uid
        return None

    def unknown(self, value: str, cancel: str) -> str | None:
        """Nobody is ``value``: say so and offer a new shopper with that id or a guest; None when cancelled."""
        value = value.strip()
        new = is_valid_id("userId", value)
        self.console.print(f"I don't know a shopper called {value!r}.")
        if new:
            self.console.print(f"  n  start as a new shopper with the id {value}")
        self.console.print("  g  start as a guest")
        self.console.print(f"  c  {cancel}")
        choices = "n/g/c" if new else "g/c"
        while True:
            answer = self.read(f"Choose [{choices}] ").strip().lower()
            if answer in ("n", "new") and new:
                self.session.first_contact(value)
                return value
            if answer in ("g", "guest"):
                guest = self.session.identities.new_guest("terminal")
                self.session.first_contact(guest)
                return guest
            if answer in ("c", "cancel", "q", "quit"):
                return None
            self.console.print(f"Please answer {' or '.join(choices.split('/'))}.")

    def switch(self, user_id: str) -> None:
        self.user_id = user_id
        self.greet()

    def greet(self) -> None:
        shopper = self.session.shopper(self.user_id)
        self.name = str(shopper["name"]).split()[0] if shopper and shopper.get("name") else None
        lines = []
        if shopper and shopper.get("name"):
            tier = f"{str(shopper.get('tier', '')).capitalize()} member" if shopper.get("tier") else ""
            where = shopper.get("city") or ""
            extra = " · ".join(x for x in (tier, where) if x)
            lines.append(f"Welcome back, **{self.name}**!" + (f" ({extra})" if extra else ""))
        else:
            lines.append(f"Hi! Shopping as **{self.user_id}** (new here: browse, keep a cart and buy).")
        lines.append("I'm the shop assistant. Ask me for products, stock, your cart, checkout or your orders.")
        cart = self.session.cart(self.user_id) or {}
        cart_lines = cart.get("lines") or []
        if cart_lines:
            items = ", ".join(
                f"{ln.get('name')} ({ln.get('size')}, {ln.get('color')}) × {ln.get('quantity')}"
                for ln in cart_lines[:4]
            )
            more = f" and {len(cart_lines) - 4} more" if len(cart_lines) > 4 else ""
            lines.append(f"In your cart: {items}{more} — subtotal {rupees(cart.get('subtotal', 0))}.")
        last = self.session.last_order(self.user_id)
        if last:
            status = str(last.get("status") or "").replace("_", " ")
            total = f", {rupees(last['total'])}" if last.get("total") is not None else ""
            lines.append(f"Your last order: **{last.get('orderId')}** ({status}{total}).")
        lines.append("Type /help for commands.")
        self.say("\n".join(lines), title="shop assistant")
        pending = (
            self.session.pending_confirmation(self.user_id) if hasattr(self.session, "pending_confirmation") else None
        )
        if pending:
            self.console.print("You have an order waiting for confirmation:")
            self.confirm(pending)

    # -- commands -----------------------------------------------------------------------------------
    def show_cart(self) -> None:
        cart = self.session.cart(self.user_id) or {}
        lines = cart.get("lines") or []
        if not lines:
            self.say("Your cart is empty.", title="cart")
            return
        table = Table(title=f"Cart of {self.name or self.user_id}", box=None, padding=(0, 2))
        for column in ("item", "size", "colour", "qty", "price", "total"):
            table.add_column(column)
        for line in lines:
            table.add_row(
                str(line.get("name")),
                str(line.get("size")),
                str(line.get("color")),
                str(line.get("quantity")),
                rupees(line.get("unitPrice")),
                rupees(line.get("lineTotal", (line.get("unitPrice") or 0) * (line.get("quantity") or 1))),
            )
        self.console.print(table)
        footer = [f"Subtotal {rupees(cart.get('subtotal', 0))}"]
        if cart.get("couponCode"):
            footer.append(f"coupon {cart['couponCode']}")
        if cart.get("redeemPoints"):
            footer.append(f"{cart['redeemPoints']} points to redeem")
        self.console.print(" · ".join(footer))

    def command(self, line: str) -> bool:
        """Run a /command; False means quit."""
        name, _, rest = line.partition(" ")
        name = name.lower()
        if name in ("/quit", "/exit", "/q", "/bye"):
            return False
        if name == "/help":
            self.console.print(HELP)
        elif name == "/cart":
            self.show_cart()
        elif name == "/user":
            if not rest.strip():
                self.console.print(f"You are {self.name or ''} ({self.user_id}). Use /user U1002 or /user Arjun.")
                return True
            uid = self.resolve_user(rest) or self.unknown(rest, f"cancel (stay {self.name or self.user_id})")
            if uid is None:
                self.console.print(f"Still shopping as {self.name or self.user_id}.")
            else:
                self.switch(uid)
        elif name == "/reset":
            answer = self.read(f"Clear the cart and the conversation for {self.name or self.user_id}? [y/n] ")
            if answer.strip().lower() in ("y", "yes"):
                self.session.reset(self.user_id)
                self.console.print("Done — your cart and our conversation are cleared.")
            else:
                self.console.print("Kept everything.")
        else:
            self.console.print(f"Unknown command {name}. Type /help.")
        return True

    # -- the loop -----------------------------------------------------------------------------------
    def turn(self, text: str) -> None:
        try:
            with self.console.status("thinking…"):
                result = self.session.send(self.user_id, text, channel="terminal")
        except KeyboardInterrupt:
            self.cut_short()
            raise
        self.show(result)

    cut_short_turn = False

    def cut_short(self) -> None:
        """Ctrl-C during a turn: close the turn in memory now, so the next start finds it consistent."""
        self.cut_short_turn = True
        try:
            self.session.repair(self.user_id)
        except Exception:  # the next turn repairs it too; quitting must not fail
            logging.getLogger("agents.sales.terminal").exception("repairing the cut-short turn failed")

    def loop(self) -> int:
        while True:
            try:
                line = self.read(PROMPT).strip()
            except (EOFError, KeyboardInterrupt):
                self.console.print("\nBye!")
                return 0
            if not line:
                continue
            try:
                if line.startswith("/"):
                    if not self.command(line):
                        self.console.print("Bye!")
                        return 0
                else:
                    self.turn(line)
            except (EOFError, KeyboardInterrupt):
                self.console.print("\nBye!")
                return 0
            except Exception as exc:  # one bad turn must not end the chat: apologise, log, go on
                logging.getLogger("agents.sales.terminal").exception("turn failed")
                self.console.print(Text(f"Sorry, that didn't work ({_short(exc)}). Please try again.", style="red"))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


# --- starting the agents ------------------------------------------------------------------------------


def ensure_agents(console: Console, timeout: float = 120) -> list[str]:
    """Start (detached) every agent whose /health does not answer; returns the names started."""
    from agentkit.contracts import REPO_ROOT
    from agentkit.registry import agents
    from agentkit.run import is_healthy

    registry = agents()
    down = [name for name, entry in registry.items() if entry.path.exists() and not is_healthy(entry)]
    if not down:
        console.print(Text("All agents are running.", style="dim"))
        return []
    console.print(f"Starting agents: {', '.join(down)} …")
    env = dict(os.environ)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agentkit.run", "up", "--detach", "--only", ",".join(down)],
            cwd=str(REPO_ROOT),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        console.print(
            Text(f"Could not start the agents ({_short(exc)}); answers that need them will say so.", style="yellow")
        )
        return []
    still_down = [name for name in down if not is_healthy(registry[name])]
    started = [name for name in down if name not in still_down]
    if started:
        console.print(Text(f"Started: {', '.join(started)} (logs in var/log/).", style="dim"))
    if still_down or done.returncode != 0:
        console.print(
            Text(
                f"Not running: {', '.join(still_down) or 'some agents'} — see var/log/. "
                "I'll keep going; answers that need them will say so.",
                style="yellow",
            )
        )
    return started


def quiet_logs() -> None:
    """Send log lines to var/log/sales-chat.log, so nothing (no traceback) lands on the chat screen."""
    from agentkit import logs
    from agentkit.db import var_dir

    logs.configure()
    path = var_dir() / "log"
    path.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path / "sales-chat.log")
    handler.setFormatter(logs.JsonFormatter())
    for name in ("agents", ""):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler):
                logger.removeHandler(old)
        logger.addHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)
    logging.captureWarnings(True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sales_agent chat", description="Chat with the sales agent.")
    parser.add_argument("--user", help="shopper id (U1001) or first name; asked when left out")
    parser.add_argument("--no-start", action="store_true", help="do not start the agents if they are down")
    parser.add_argument("shopper", nargs="?", help=argparse.SUPPRESS)  # `chat U1001` works too
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    args = parser.parse_args(argv)
    args.user = args.user or args.shopper
    console = make_console()
    try:
        quiet_logs()
        from ..bootstrap import build_session
        from ..settings import Settings

        settings = Settings()
        if not args.no_start and not settings.chat_no_start:
            ensure_agents(console)
        session = build_session(settings)
    except KeyboardInterrupt:
        console.print("\nBye!")
        return 0
    except Exception as exc:  # cannot even start: say why in one line
        console.print(Text(f"The chat could not start: {_short(exc)}", style="red"))
        return 1
    chat = Chat(session, console)
    try:
        user = args.user
        if user is None:
            try:
                user = chat.read(f"Who's shopping? (user id or first name) [{DEFAULT_USER}] ").strip() or DEFAULT_USER
            except (EOFError, KeyboardInterrupt):
                console.print("\nBye!")
                return 0
        try:
            uid = chat.resolve_user(user) or chat.unknown(user, "quit")
        except (EOFError, KeyboardInterrupt):
            uid = None
        if uid is None:
            console.print("Bye!")
            return 0
        chat.user_id = uid
        try:
            chat.greet()
        except (EOFError, KeyboardInterrupt):
            console.print("\nBye!")
            return 0
        except Exception as exc:
            logging.getLogger("agents.sales.terminal").exception("greeting failed")
            console.print(Text(f"(Could not load your details: {_short(exc)})", style="yellow"))
        return chat.loop()
    finally:
        if chat.cut_short_turn:
            # A tool of the cut-short turn may still be waiting on an agent in a worker thread, and the
            # interpreter would wait for it at exit. Its writes are each atomic in their own stores and the
            # turn is closed in memory, so leave now rather than after its timeout.
            sys.stdout.flush()
            os._exit(0)
        try:
            session.close()
        except Exception:  # closing must never turn a clean exit into a traceback
            logging.getLogger("agents.sales.terminal").exception("closing the session failed")


if __name__ == "__main__":
    sys.exit(main())
