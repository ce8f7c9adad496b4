// Times and money as the shop writes them: in the browser's own time zone (the counter's), an amount in its own
// currency or else the shop's.
import { el } from "./dom.js";

export function formats({ locale, currency }) {
  const dates = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  const amounts = new Map();
  return {
    when: (iso) => el("time", { datetime: iso }, dates.format(new Date(iso))),
    money(amount, own) {
      const code = own || currency;
      if (!amounts.has(code)) amounts.set(code, new Intl.NumberFormat(locale, { style: "currency", currency: code }));
      return amounts.get(code).format(amount);
    },
  };
}
