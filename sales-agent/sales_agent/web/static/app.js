// The chat page: a guest session (or, in development, a seeded shopper), the streamed turn read from
// POST /chat/stream with fetch (the stream needs the Authorization header, which EventSource cannot send),
// and the cart, checkout and order drawn from what the server returns. The page keeps nothing the shopper
// typed: the input is cleared when a message is sent, and the conversation comes back from /chat/state.
import { maskCards, moneyText, parseEvents, readCart, readOrder, readPending, renderRich } from "./format.js";

const SESSION_KEY = "shop.session";
const $ = (id) => document.getElementById(id);
const ui = {
  who: $("who"),
  devForm: $("dev-login"),
  devShopper: $("dev-shopper"),
  messages: $("messages"),
  composer: $("composer"),
  input: $("message"),
  send: $("send"),
  status: $("status"),
  cartItems: $("cart-items"),
  cartEmpty: $("cart-empty"),
  cartTotal: $("cart-total"),
  cartCount: $("cart-count"),
  lastOrder: $("last-order"),
};
const page = { session: null, busy: false, orderId: "", panels: 0 };

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `The shop answered ${status}.`);
    this.status = status;
  }
}

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter(Boolean));
  return node;
}

// -- session ------------------------------------------------------------------------------------------
function storedSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    return saved && typeof saved.token === "string" && typeof saved.userId === "string" ? saved : null;
  } catch {
    return null;
  }
}

function keepSession(session) {
  page.session = { userId: session.userId, token: session.token, name: session.name || "", guest: !!session.guest };
  localStorage.setItem(SESSION_KEY, JSON.stringify(page.session));
  ui.who.textContent = page.session.guest ? "Shopping as a guest" : `Shopping as ${page.session.name || "a shopper"}`;
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (page.session) headers.Authorization = `Bearer ${page.session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

async function startGuest() {
  page.session = null;
  const guest = await api("/sessions/guest", { method: "POST", body: {} });
  keepSession({ userId: guest.userId, token: guest.token, guest: true });
}

// -- drawing -----------------------------------------------------------------------------------------
function scrollToEnd() {
  ui.messages.lastElementChild?.scrollIntoView({ block: "end" });
}

function addUser(text) {
  const item = element("li", { className: "msg user" }, [
    element("span", { className: "visually-hidden", text: "You said:" }),
    element("div", { className: "bubble", text }),
  ]);
  ui.messages.append(item);
  scrollToEnd();
  return item;
}

function addAssistant(text = "") {
  const reply = element("div", { className: "bubble reply" });
  reply.append(renderRich(text));
  const item = element("li", { className: "msg assistant" }, [
    element("span", { className: "visually-hidden", text: "The shop assistant said:" }),
    reply,
  ]);
  ui.messages.append(item);
  scrollToEnd();
  return { item, reply, text, calls: null, callRows: new Map() };
}

function setReply(turn, text) {
  turn.text = text;
  turn.reply.replaceChildren(renderRich(text));
}

function callLine(call) {
  const parts = [call.agent, call.operation];
  if (call.ms !== undefined && call.ms !== null) parts.push(`${Math.round(Number(call.ms))} ms`);
  else parts.push("…");
  return parts.filter(Boolean).join(" · ") + (call.ok === false ? " · failed" : "");
}

function showCall(turn, call) {
  if (!turn.calls) {
    const summary = element("summary");
    const list = element("ul", { className: "calls-list" });
    turn.calls = element("details", { className: "calls" }, [summary, list]);
    turn.item.append(turn.calls);
  }
  const key = call.callId || `n${turn.callRows.size}`;
  let row = turn.callRows.get(key);
  if (!row) {
    row = element("li");
    turn.callRows.set(key, row);
    turn.calls.lastElementChild.append(row);
  }
  row.textContent = callLine(call);
  row.classList.toggle("failed", call.ok === false);
  const count = turn.callRows.size;
  turn.calls.firstElementChild.textContent = `Agent calls (${count})`;
}

function productCard(product) {
  const name = String(product.name || "Product");
  const colors = Array.isArray(product.colors) ? product.colors : [];
  const sizes = Array.isArray(product.sizes) ? product.sizes : [];
  const stock = product.stock && typeof product.stock === "object" ? product.stock : null;
  const picture =
    typeof product.image === "string" && product.image.startsWith("/")
      ? element("img", { src: product.image, alt: colors.length ? `${name} in ${colors[0]}` : name })
      : null;
  if (picture) {
    picture.width = 160;
    picture.height = 160;
  }
  const rating = Number(product.rating);
  return element("li", { className: "card product", "data-product-id": product.productId || "" }, [
    picture,
    element("h3", { className: "card-title", text: name }),
    element("p", { className: "price", text: moneyText(product.priceText, product.price) }),
    colors.length ? element("p", { className: "meta", text: `Colours: ${colors.join(", ")}` }) : null,
    sizes.length ? element("p", { className: "meta", text: `Sizes: ${sizes.join(", ")}` }) : null,
    Number.isFinite(rating) && rating > 0
      ? element("p", {
          className: "rating",
          "aria-label": `Rated ${rating.toFixed(1)} out of 5`,
          text: `★ ${rating.toFixed(1)}`,
        })
      : null,
    stock && stock.label
      ? element("p", {
          className: `stock ${Number(stock.level) > 5 ? "in" : Number(stock.level) > 0 ? "low" : "out"}`,
          text: String(stock.label),
        })
      : null,
  ]);
}

function showProducts(turn, products) {
  if (!Array.isArray(products) || !products.length) return;
  turn.item.append(element("ul", { className: "cards", "aria-label": "Products" }, products.map(productCard)));
}

function orderCard(order, heading = "Order placed") {
  return element("section", { className: "card order", "data-order-id": order.orderId }, [
    element("h3", { className: "card-title", text: heading }),
    element("p", { className: "order-id", text: `Order ${order.orderId}` }),
    element("p", { className: "order-status", text: `Status: ${order.status}` }),
    order.expected ? element("p", { className: "order-date", text: `Expected by ${order.expected}` }) : null,
    order.totalText ? element("p", { className: "order-total", text: `Total ${order.totalText}` }) : null,
  ]);
}

function showOrder(turn, raw) {
  const order = readOrder(raw);
  if (!order) return;
  turn.item.append(orderCard(order));
  showLastOrder(order);
}

function showLastOrder(order) {
  page.orderId = order ? order.orderId : "";
  ui.lastOrder.replaceChildren(order ? orderCard(order, "Your latest order") : "");
  ui.lastOrder.hidden = !order;
}

function showPending(turn, raw) {
  const pending = readPending(raw);
  if (!pending) return;
  const heading = element("h3", { className: "card-title", id: `pay-${(page.panels += 1)}`, text: "Confirm your payment" });
  const confirmButton = element("button", { type: "button", className: "primary confirm", text: "Confirm" });
  const cancelButton = element("button", { type: "button", className: "cancel", text: "Cancel" });
  const panel = element(
    "section",
    { className: "card pending", role: "group", "aria-labelledby": heading.id, "data-checkout-id": pending.checkoutId },
    [
      heading,
      element("p", { className: "summary", text: pending.summary }),
      pending.totalText ? element("p", { className: "pending-total", text: `Total ${pending.totalText}` }) : null,
      element("div", { className: "actions" }, [confirmButton, cancelButton]),
    ],
  );
  confirmButton.addEventListener("click", () => answerPending(panel, true));
  cancelButton.addEventListener("click", () => answerPending(panel, false));
  turn.item.append(panel);
  scrollToEnd();
}

function showCart(raw) {
  const cart = readCart(raw);
  ui.cartItems.replaceChildren(
    ...cart.items.map((item) =>
      element("li", { className: "cart-line", "data-product-id": item.productId }, [
        element("span", { className: "cart-name", text: item.name }),
        element("span", { className: "cart-variant", text: [item.size, item.color].filter(Boolean).join(" · ") }),
        element("span", { className: "cart-qty", text: `× ${item.quantity}` }),
        element("span", { className: "cart-line-total", text: item.lineText }),
      ]),
    ),
  );
  ui.cartEmpty.hidden = cart.items.length > 0;
  ui.cartTotal.textContent = `Total ${cart.totalText}`;
  ui.cartCount.textContent = String(cart.count);
}

function showResult(turn, result) {
  if (!result || typeof result !== "object") return;
  if (typeof result.reply === "string" && result.reply !== turn.text) setReply(turn, result.reply);
  const calls = Array.isArray(result.calls) ? result.calls : Array.isArray(result.toolCalls) ? result.toolCalls : [];
  if (!turn.callRows.size) calls.forEach((call) => showCall(turn, call));
  showProducts(turn, result.products);
  if (result.cart) showCart(result.cart);
  showPending(turn, result.pendingConfirmation);
  showOrder(turn, result.order);
}

function showProblem(turn, message) {
  turn.item.classList.add("problem");
  turn.item.append(element("p", { className: "error", role: "alert", text: message }));
}

function setBusy(busy) {
  page.busy = busy;
  ui.send.disabled = busy;
  ui.messages.setAttribute("aria-busy", busy ? "true" : "false");
  ui.status.textContent = busy ? "The assistant is replying…" : "";
}

// -- turns ---------------------------------------------------------------------------------------------
async function sendMessage(message) {
  setBusy(true);
  const mine = addUser(maskCards(message));
  const turn = addAssistant();
  turn.item.dataset.events = "0";
  turn.reply.setAttribute("aria-busy", "true");
  let finished = false;
  try {
    const response = await fetch("/chat/stream", {
      method: "POST",
      headers: {
        Accept: "text/event-stream",
        "Content-Type": "application/json",
        Authorization: `Bearer ${page.session.token}`,
      },
      body: JSON.stringify({ message, channel: "web" }),
    });
    message = "";
    if (!response.ok || !(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      const body = await response.json().catch(() => null);
      throw new ApiError(response.status, body);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parsed = parseEvents(buffer + decoder.decode(value, { stream: true }));
      buffer = parsed.rest;
      for (const { event, data } of parsed.events) {
        turn.item.dataset.events = String(Number(turn.item.dataset.events) + 1);
        if (event === "start" && data) turn.item.dataset.turnId = String(data.turnId || "");
        else if (event === "tool" && data) showCall(turn, data);
        else if (event === "token" && data) {
          // "replace": the whole reply so far, instead of what came before (an LLM's words before a tool call).
          text = data.replace ? String(data.text || "") : text + String(data.text || "");
          setReply(turn, text);
        }
        else if (event === "final") {
          showResult(turn, data);
          finished = true;
        } else if (event === "error") {
          showProblem(turn, (data && data.message) || "Something went wrong with that message.");
          finished = true;
        }
        scrollToEnd();
      }
    }
  } catch (error) {
    showProblem(turn, error instanceof ApiError ? error.message : "The shop could not be reached. Try again.");
    finished = true;
  } finally {
    message = "";
  }
  // The server's copy of what was typed (card numbers taken out), and, if the stream dropped before its
  // last event, the turn as the server finished it.
  try {
    const state = await api("/chat/state");
    const said = (state.history || []).filter((entry) => entry.role === "user").pop();
    if (said) mine.querySelector(".bubble").textContent = said.text;
    if (!finished && state.lastTurn) showResult(turn, state.lastTurn);
    showCart(state.cart);
  } catch {
    // The turn is drawn already; the next load restores the rest.
  }
  turn.reply.setAttribute("aria-busy", "false");
  setBusy(false);
  scrollToEnd();
}

async function answerPending(panel, approve) {
  if (page.busy) return;
  panel.querySelectorAll("button").forEach((button) => (button.disabled = true));
  setBusy(true);
  const before = page.orderId;
  const turn = addAssistant();
  try {
    const result = await api("/chat/confirm", { method: "POST", body: { approve, channel: "web" } });
    panel.querySelector(".actions").replaceChildren(
      element("p", { className: "answered", text: approve ? "You confirmed this payment." : "You cancelled this payment." }),
    );
    showResult(turn, result);
    if (approve && !readOrder(result.order)) {
      const state = await api("/chat/state");
      const order = readOrder(state.lastTurn && state.lastTurn.order) || readOrder(state.lastOrder);
      if (order && order.orderId !== before) {
        turn.item.append(orderCard(order));
        showLastOrder(order);
      }
      showCart(state.cart);
    }
  } catch (error) {
    showProblem(turn, error instanceof ApiError ? error.message : "The shop could not be reached. Try again.");
    panel.querySelectorAll("button").forEach((button) => (button.disabled = false));
  }
  setBusy(false);
  scrollToEnd();
  ui.input.focus();
}

async function restore() {
  let state;
  try {
    state = await api("/chat/state");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    await startGuest();
    state = await api("/chat/state");
  }
  ui.messages.replaceChildren();
  let last = null;
  for (const entry of state.history || []) {
    if (entry.role === "user") addUser(String(entry.text || ""));
    else if (entry.role === "assistant") last = addAssistant(String(entry.text || ""));
  }
  const turn = state.lastTurn;
  if (last && turn && typeof turn === "object") {
    showResult(last, { ...turn, reply: undefined, pendingConfirmation: undefined, cart: undefined });
  }
  if (state.pendingConfirmation) {
    showPending(last || addAssistant("A payment is waiting for your answer."), state.pendingConfirmation);
  }
  showCart(state.cart);
  // The last turn's order card has the expected date; lastOrder (the store's record) has not.
  const latest = readOrder(state.lastOrder);
  const carded = readOrder(turn && turn.order);
  showLastOrder(carded && (!latest || carded.orderId === latest.orderId) ? carded : latest);
}

// -- development login ---------------------------------------------------------------------------------
async function offerShoppers() {
  const config = await api("/page/config");
  if (!config || !config.devLogin) return;
  const { shoppers } = await api("/dev/shoppers");
  ui.devShopper.replaceChildren(
    element("option", { value: "", text: "a new guest" }),
    ...shoppers.map((s) => element("option", { value: s.userId, text: s.city ? `${s.name} (${s.city})` : s.name })),
  );
  ui.devForm.hidden = false;
  ui.devForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = ui.devShopper.value;
    if (chosen) {
      const session = await api("/dev/sessions", { method: "POST", body: { userId: chosen } });
      keepSession({ userId: session.userId, token: session.token, name: session.name, guest: false });
    } else {
      await startGuest();
    }
    await restore();
  });
}

// -- start ---------------------------------------------------------------------------------------------
ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const message = ui.input.value.trim();
  if (!message || page.busy || !page.session) return;
  ui.input.value = "";
  sendMessage(message);
});

async function start() {
  const saved = storedSession();
  if (saved) keepSession(saved);
  else await startGuest();
  await restore();
  document.body.dataset.ready = "true";
  await offerShoppers();
}

start().catch(() => {
  ui.status.textContent = "The shop could not be reached. Reload the page to try again.";
});
