// The page's pure logic: reading the event stream, Markdown-lite as DOM nodes (text is never parsed as markup), money and
// dates as shoppers read them, card numbers masked, and the server's cart, checkout and order shapes read
// into one form. No network and no page state here, so tests can run each function in Chromium alone.

const INR_WHOLE = new Intl.NumberFormat("en-IN", { style: "currency", currency: "INR", maximumFractionDigits: 0 });
const INR_PAISE = new Intl.NumberFormat("en-IN", {
  style: "currency",
  currency: "INR",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** ₹4,999 · ₹1,24,990 · ₹4,718.50, as agentkit.money writes it (paise only when there are any). */
export function money(value) {
  const amount = Number(value);
  if (!Number.isFinite(amount)) return "";
  const paise = Math.round(amount * 100);
  return (paise % 100 === 0 ? INR_WHOLE : INR_PAISE).format(paise / 100);
}

/** The server's text for an amount when it sent one, else the amount formatted here. */
export function moneyText(text, value) {
  if (typeof text === "string" && text) return text;
  return value === undefined || value === null ? "" : money(value);
}

/** "2026-12-05" -> "5 Dec 2026" (a date with no time zone stays that day). */
export function formatDate(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(value || ""));
  if (!match) return String(value || "");
  const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return new Intl.DateTimeFormat("en-IN", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(
    day,
  );
}

/**
 * Server-sent events out of what has arrived so far: {events: [{event, data}], rest}. ``rest`` is the
 * unfinished tail to keep for the next chunk. ``data`` is the parsed JSON (null when it is not JSON).
 */
export function parseEvents(buffer) {
  const events = [];
  const text = buffer.replace(/\r\n?/g, "\n");
  const blocks = text.split("\n\n");
  const rest = blocks.pop();
  for (const block of blocks) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) continue;
    let parsed = null;
    try {
      parsed = JSON.parse(data.join("\n"));
    } catch {
      parsed = null;
    }
    events.push({ event, data: parsed });
  }
  return { events, rest };
}

const LIST_ITEM = /^\s*(?:([-*•])|(\d+)[.)])\s+(.*)$/;

/** One line's **bold** runs as text and <strong> nodes. */
function inline(doc, parent, line) {
  const parts = line.split("**");
  // An odd number of parts means every ** was closed; otherwise the last one stays as typed.
  const closed = parts.length % 2 === 1;
  parts.forEach((part, index) => {
    if (!part) return;
    const bold = index % 2 === 1 && (closed || index < parts.length - 1);
    if (bold) {
      const strong = doc.createElement("strong");
      strong.textContent = part;
      parent.append(strong);
    } else {
      parent.append(doc.createTextNode(index % 2 === 1 ? "**" + part : part));
    }
  });
}

/**
 * Markdown-lite (paragraphs, line breaks, **bold**, "- " and "1. " lists) as a DocumentFragment of
 * elements and text nodes: whatever the text holds, nothing in it becomes markup.
 */
export function renderRich(text, doc = document) {
  const fragment = doc.createDocumentFragment();
  const lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
  let paragraph = null;
  let list = null;
  for (const line of lines) {
    const item = LIST_ITEM.exec(line);
    if (item) {
      const kind = item[1] ? "ul" : "ol";
      if (!list || list.localName !== kind) {
        list = doc.createElement(kind);
        fragment.append(list);
      }
      const li = doc.createElement("li");
      inline(doc, li, item[3]);
      list.append(li);
      paragraph = null;
    } else if (!line.trim()) {
      paragraph = null;
      list = null;
    } else {
      list = null;
      if (paragraph) {
        paragraph.append(doc.createElement("br"));
      } else {
        paragraph = doc.createElement("p");
        fragment.append(paragraph);
      }
      inline(doc, paragraph, line);
    }
  }
  return fragment;
}

const CARD_RUN = /(?:\d[ \-.\u00a0]?){12,19}/g;
const SECURITY = /\b(cvc|cvv|csc|security code|code)(\s*(?:number\s*)?(?:is\s*)?[:=]?\s*)\d{3,4}\b/gi;

/**
 * What the page shows of a message the shopper typed until the server's own copy comes back: a card
 * number becomes "card ending 4242" and a security code "•••", so the typed digits never reach the page.
 */
export function maskCards(text) {
  return String(text || "")
    .replace(/[\uff10-\uff19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff10 + 48))
    .replace(CARD_RUN, (run) => {
      const digits = run.replace(/\D/g, "");
      const tail = /[ \-.\u00a0]$/.test(run) ? run.slice(-1) : "";
      return `card ending ${digits.slice(-4)}${tail}`;
    })
    .replace(SECURITY, (_, label, gap) => `${label}${gap}•••`);
}

/** The cart as the page shows it, from the stream's shape ({items, total, totalText}) or the older one
 * ({lines, subtotal}). */
export function readCart(cart) {
  if (!cart || typeof cart !== "object") return { items: [], count: 0, totalText: money(0) };
  const rows = Array.isArray(cart.items) ? cart.items : Array.isArray(cart.lines) ? cart.lines : [];
  const items = rows.map((row) => {
    const quantity = Number(row.quantity) || 0;
    const unit = row.unitPrice ?? null;
    const line = row.lineTotal ?? (unit === null ? null : Number(unit) * quantity);
    return {
      productId: String(row.productId || ""),
      name: String(row.name || "Item"),
      size: row.size ? String(row.size) : "",
      color: row.color ? String(row.color) : "",
      quantity,
      unitText: moneyText(row.priceText, unit),
      lineText: moneyText(row.lineTotalText, line),
      image: typeof row.image === "string" ? row.image : "",
    };
  });
  const count = Number(cart.itemCount ?? items.reduce((sum, item) => sum + item.quantity, 0)) || 0;
  const total = cart.total ?? cart.subtotal ?? 0;
  return { items, count, totalText: moneyText(cart.totalText, total) };
}

/** A payment waiting for the shopper's yes, or null. */
export function readPending(pending) {
  if (!pending || typeof pending !== "object") return null;
  return {
    checkoutId: pending.checkoutId ? String(pending.checkoutId) : "",
    summary: String(pending.summary || pending.description || "Confirm the order?"),
    totalText: moneyText(pending.totalText, pending.total),
  };
}

/** An order card's fields, or null when there is no order id. */
export function readOrder(order) {
  if (!order || typeof order !== "object" || !order.orderId) return null;
  const expected = order.expectedDelivery || order.estimatedDelivery || "";
  return {
    orderId: String(order.orderId),
    status: String(order.statusLabel || order.status || "placed").replace(/_/g, " "),
    expected: expected ? formatDate(expected) : "",
    totalText: moneyText(order.totalText, order.total),
  };
}
