// The search form and, for a name several customers share, the list of them. One way to search at a time: the staff
// API takes exactly one phone, email, loyalty id, or a first and last name.
import { el, hideProblem, showProblem } from "./dom.js";
import { fullName } from "./names.js";

const ALONE = { phone: "phone", email: "email", loyalty_id: "loyalty id" };
const NAME = ["first_name", "last_name"];
const ONE_WAY = "Fill in one: a phone, an email, a loyalty id, or a first and last name.";
const BOTH_NAMES = "Enter both a first and a last name.";
// What the clerk reads when the staff API cannot search for what was typed: its 400 names the field at fault.
const RETYPE = {
  phone: "This is not a phone number we can look up. Check the number and try again.",
  email: "This is not an email address we can look up. Check it and try again.",
  loyalty_id: "This is not a loyalty id we can look up. Check it and try again.",
  first_name: BOTH_NAMES,
  last_name: BOTH_NAMES,
  body: ONE_WAY,
};

export function findView({ api, problem }) {
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
      const retype = error.status === 400 ? RETYPE[error.field] : undefined;
      showProblem(problem, retype ? new Error(retype) : error);
    } finally {
      button.disabled = false;
    }
  });

  function listed(customers, title) {
    heading.textContent = title;
    rows.replaceChildren(
      ...customers.map((customer) => {
        const ids = customer.identifiers;
        const name = fullName(customer) ?? customer.customer_id;
        const link = el("a", { href: `#/customers/${encodeURIComponent(customer.customer_id)}` }, name);
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
  if (keys.length === 1 && NAME.includes(keys[0])) return BOTH_NAMES;
  return ONE_WAY;
}

function what(wanted) {
  const [key] = Object.keys(wanted);
  return ALONE[key] ?? "name";
}
