// The search form and, for a name several customers share, the list of them. One way to search at a time: the staff
// API takes exactly one phone, email, loyalty id, or a first and last name.
import { el, hideProblem, showProblem } from "./dom.js";

const ALONE = { phone: "phone", email: "email", loyalty_id: "loyalty id" };
const NAME = ["first_name", "last_name"];
const ONE_WAY = "Fill in one: a phone, an email, a loyalty id, or a first and last name.";

export function findView({ api, problem, known }) {
  const form = document.getElementById("find");
  const namesakes = document.getElementById("namesakes");
  const heading = document.getElementById("namesakes-heading");
  const rows = namesakes.querySelector("tbody");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    hideProblem(problem);
    namesakes.hidden = true;
    const wanted = wantedFrom(form);
    if (typeof wanted === "string") return showProblem(problem, new Error(wanted));
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const { customers } = await api.search(wanted);
      for (const customer of customers) known.set(customer.customer_id, fullName(customer));
      if (customers.length === 0) {
        showProblem(problem, new Error(`Not found: no customer has this ${what(wanted)}.`));
        return;
      }
      form.reset(); // found: the counter's screen keeps no phone or email typed into it
      if (customers.length === 1) {
        window.location.hash = `#/customers/${encodeURIComponent(customers[0].customer_id)}`;
        return;
      }
      listed(customers, `${customers.length} customers have this ${what(wanted)}`);
    } catch (error) {
      showProblem(problem, error);
    } finally {
      button.disabled = false;
    }
  });

  function listed(customers, title) {
    heading.textContent = title;
    rows.replaceChildren(
      ...customers.map((customer) => {
        const ids = customer.identifiers;
        const link = el("a", { href: `#/customers/${encodeURIComponent(customer.customer_id)}` }, fullName(customer));
        return el(
          "tr",
          {},
          el("th", { scope: "row" }, link),
          ...["email", "phone", "loyalty_id"].map((kind) => el("td", {}, (ids[kind] ?? []).join(", ") || "—")),
          el("td", {}, customer.lifecycle_stage),
        );
      }),
    );
    namesakes.hidden = false;
    heading.focus();
  }
}

// The search body, or what is missing from the form.
function wantedFrom(form) {
  const filled = Object.fromEntries(
    [...new FormData(form)].map(([key, value]) => [key, value.trim()]).filter(([, value]) => value),
  );
  const keys = Object.keys(filled);
  if (keys.length === 1 && keys[0] in ALONE) return filled;
  if (keys.length === 2 && NAME.every((key) => key in filled)) return filled;
  if (keys.length === 1 && NAME.includes(keys[0])) return "Enter both a first and a last name.";
  return ONE_WAY;
}

function what(wanted) {
  const [key] = Object.keys(wanted);
  return ALONE[key] ?? "name";
}

function fullName(customer) {
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || customer.customer_id;
}
