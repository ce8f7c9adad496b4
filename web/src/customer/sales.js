// What sales has going with the customer, in words for the counter: their deals in the CRM (HubSpot), open ones
// first, with what is on each, and the tasks journeys created for their sales rep lately. Each section is hidden when
// there is nothing to tell.
import { el } from "./dom.js";

// HubSpot's default sales pipeline, in words; a custom pipeline's stages are ids, told as they are.
const STAGE_WORDS = {
  appointmentscheduled: "appointment scheduled",
  qualifiedtobuy: "qualified to buy",
  presentationscheduled: "presentation scheduled",
  decisionmakerboughtin: "decision maker bought in",
  contractsent: "contract sent",
};

export function showSales(profile, format) {
  // An API from before deals and sales tasks were listed has none to tell.
  show("deals", dealItems(profile.deals ?? [], format));
  show("sales-tasks", taskItems(profile.sales_tasks ?? [], format));
}

function show(section, items) {
  document.getElementById(`${section}-list`).replaceChildren(...items);
  document.getElementById(section).hidden = items.length === 0;
}

// Deal “Office chairs for ACME” — contract sent, €4,200.00, owner 123, closes 4 Mar 2026; then its line items.
function dealItems(deals, format) {
  return deals.map((deal) => {
    // Without a currency, an amount is in the CRM's company currency, which the shop's may not be.
    const noCurrency = deal.amount !== null && !deal.currency ? " (no currency set)" : "";
    const worth = deal.amount === null ? null : `${amount(deal.amount, deal.currency, format)}${noCurrency}`;
    const facts = [status(deal), worth, deal.owner ? `owner ${deal.owner}` : null];
    const said = [`Deal “${deal.name || deal.deal_id}” — ${facts.filter(Boolean).join(", ")}`];
    if (deal.close_date) said.push(deal.status === "open" ? ", closes " : ", closed ", format.day(deal.close_date));
    const lines = deal.line_items.map((line) => el("li", {}, lineItem(line, deal.currency, format)));
    return el("li", {}, ...said, lines.length ? el("ul", {}, ...lines) : null);
  });
}

function status(deal) {
  if (deal.status !== "open") return deal.status;
  if (!deal.stage) return "open";
  return STAGE_WORDS[deal.stage] ?? `open, stage ${deal.stage}`;
}

function amount(value, currency, format) {
  return currency ? format.money(value, currency) : format.number(value);
}

// 10 × Trail Runner 42 (SHOE-TRAIL-42), €129.90 each; one whose details have not arrived yet, by its id.
function lineItem(line, currency, format) {
  if (line.name === null && line.sku === null) return `Line item ${line.line_item_id}, details not received yet`;
  const quantity = line.quantity === null ? "" : `${format.number(line.quantity)} × `;
  const sku = line.sku ? ` (${line.sku})` : "";
  const price = line.price === null ? "" : `, ${amount(line.price, currency, format)} each`;
  return `${quantity}${line.name || line.sku}${sku}${price}`;
}

// Task “Call Lena Fischer about their cart of €649.75” for owner 83712, from b2b_cart_to_sales, created <time>.
function taskItems(tasks, format) {
  return tasks.map((task) => {
    const owner = task.owner ? ` for owner ${task.owner}` : " for the whole sales team (the contact has no owner)";
    return el(
      "li",
      {},
      `Task “${task.subject || task.template}”${owner}, from ${task.journey}, created `,
      format.when(task.at),
    );
  });
}
