// A customer as the counter needs them: stage, segments, identifiers, consent, next best actions with their "Done"
// buttons, messages the provider never confirmed, the cart from any channel, live offers and their codes, recent
// orders on every channel, deals, open tickets and sales tasks.
import { el, hideProblem, showProblem } from "./dom.js";
import { fullName } from "./names.js";
import { showSales } from "./sales.js";

const CHANNEL_NAMES = {
  email: "Email",
  sms: "Text message",
  push: "Push notification",
  sales_task: "Sales task",
  webhook: "Webhook",
};

export function showCustomer(profile, { api, format }) {
  document.getElementById("customer-heading").textContent = fullName(profile) ?? `Customer ${profile.customer_id}`;
  const ids = profile.identifiers;
  const facts = {
    stage: profile.lifecycle_stage,
    segments: (profile.segments ?? []).join(", ") || "none",
    phone: (ids.phone ?? []).join(", ") || "—",
    email: (ids.email ?? []).join(", ") || "—",
    loyalty_id: (ids.loyalty_id ?? []).join(", ") || "—",
    consent: Object.entries(profile.consent).map(([channel, status]) => `${channel}: ${status}`).join(", "),
  };
  for (const [fact, text] of Object.entries(facts)) document.querySelector(`[data-fact="${fact}"]`).textContent = text;
  actions(profile, api, format);
  // An API from before unconfirmed sends were listed has none to tell.
  const pending = profile.pending_messages ?? [];
  document.getElementById("unconfirmed-messages").replaceChildren(...unconfirmed(pending, format));
  document.getElementById("unconfirmed").hidden = pending.length === 0;
  document.getElementById("cart").replaceChildren(...cart(profile.cart, format));
  document.getElementById("offers").replaceChildren(...offers(profile.offers, format));
  document.getElementById("orders").replaceChildren(...orders(profile.orders, format));
  document.getElementById("tickets").replaceChildren(...tickets(profile.open_tickets, format));
  showSales(profile, format);
}

function actions(profile, api, format) {
  const list = document.getElementById("actions");
  const none = document.getElementById("no-actions");
  const status = document.getElementById("action-done");
  const problem = document.getElementById("action-problem");
  const heading = document.getElementById("actions-heading");
  status.textContent = "";
  hideProblem(problem);
  list.replaceChildren(
    ...profile.next_best_actions.map((action, index) => {
      const id = `action-${index + 1}`;
      const done = el("button", { type: "button", "aria-describedby": id }, "Done");
      const item = el(
        "li",
        {},
        el("span", { id }, action.text),
        " ",
        el("span", { class: "muted" }, `(${action.channel}, from ${action.journey}, `, format.when(action.at), ")"),
        done,
      );
      done.addEventListener("click", async () => {
        done.disabled = true;
        hideProblem(problem);
        try {
          await api.done(profile.customer_id, action.action_id);
        } catch (error) {
          showProblem(problem, error);
          done.disabled = false;
          return;
        }
        // Recorded (the event is queued): the action leaves the list, and the focus goes where the list begins.
        item.remove();
        status.textContent = `Marked done: ${action.text}`;
        none.hidden = list.children.length > 0;
        heading.focus();
      });
      return item;
    }),
  );
  none.hidden = profile.next_best_actions.length > 0;
}

// Each in plain words: what went, from which journey, when it was sent (if it was), and that nobody confirmed it.
function unconfirmed(pending, format) {
  return pending.map((message) =>
    el(
      "li",
      {},
      `${CHANNEL_NAMES[message.channel] ?? message.channel} “${message.template}” from ${message.journey}: sent? `,
      format.when(message.at),
      ", not yet confirmed by the provider.",
    ),
  );
}

function cart(current, format) {
  if (!current || current.items.length === 0) return [el("p", { class: "muted" }, "The cart is empty on every channel.")];
  const items = current.items.map((item) => {
    const price = item.price === null || item.price === undefined ? null : `, ${format.money(item.price)}`;
    return el("li", {}, `${item.quantity} × ${item.name || item.sku} (${item.sku})`, price);
  });
  // A cart stored before its channel and time were kept has neither: then nothing is said of them.
  const where = current.channel ? [`From the ${current.channel} channel`] : [];
  if (current.updated_at) {
    where.push(where.length ? ", last changed " : "Last changed ", format.when(current.updated_at));
  }
  return [where.length ? el("p", { class: "muted" }, ...where) : null, el("ul", {}, ...items)].filter(Boolean);
}

function offers(issued, format) {
  const live = issued.filter((offer) => offer.status === "live");
  if (live.length === 0) return [el("p", { class: "muted" }, "No live offer.")];
  const items = live.map((offer) =>
    el(
      "li",
      {},
      el("strong", { class: "offer-code" }, offer.code),
      `: ${format.discount(offer)}`,
      offer.skus.length ? ` on ${offer.skus.join(", ")}` : "",
      ", until ",
      format.when(offer.expires_at),
    ),
  );
  return [el("ul", {}, ...items)];
}

function orders(placed, format) {
  if (placed.length === 0) return [el("p", { class: "muted" }, "No orders on any channel.")];
  const head = ["Order", "Channel", "When", "Total", "Products", "State"].map((title) => el("th", { scope: "col" }, title));
  const rows = [...placed].reverse().map((order) => {
    const total = order.total === null ? "—" : format.money(order.total, order.currency);
    const refunded = order.refunded ? ` (refunded ${format.money(order.refunded, order.currency)})` : "";
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, order.order_id),
      el("td", {}, order.channel),
      el("td", {}, format.when(order.at)),
      el("td", { class: "amount" }, total),
      el("td", {}, order.skus.join(", ")),
      el("td", {}, `${order.state}${refunded}`),
    );
  });
  return [el("table", { class: "listing" }, el("thead", {}, el("tr", {}, ...head)), el("tbody", {}, ...rows))];
}

function tickets(open, format) {
  if (open.length === 0) return [el("p", { class: "muted" }, "No open ticket.")];
  const items = open.map((ticket) =>
    el("li", {}, `${ticket.subject || "(no subject)"} (#${ticket.ticket_id}, opened `, format.when(ticket.opened_at), ")"),
  );
  return [el("ul", {}, ...items)];
}
