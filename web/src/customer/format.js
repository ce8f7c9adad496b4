// Times, money and discounts as the shop writes them: in the browser's own time zone (the counter's), an amount in
// its own currency or else the shop's.
import { el } from "./dom.js";

export function formats({ locale, currency }) {
  const dates = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  const days = new Intl.DateTimeFormat(locale, { dateStyle: "medium" });
  const numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  const percents = new Intl.NumberFormat(locale, { style: "percent" });
  const amounts = new Map();
  function money(amount, own) {
    const code = own || currency;
    if (!amounts.has(code)) amounts.set(code, new Intl.NumberFormat(locale, { style: "currency", currency: code }));
    return amounts.get(code).format(amount);
  }
  return {
    when: (iso) => el("time", { datetime: iso }, dates.format(new Date(iso))),
    // A date without its time (a deal's close date), on the counter's calendar.
    day: (iso) => el("time", { datetime: iso }, days.format(new Date(iso))),
    // A quantity, or an amount whose currency is not known.
    number: (value) => numbers.format(value),
    money,
    // An offer's discount: its percentage or amount in the shop's format, or its text when the API gave only that.
    discount(offer) {
      if (offer.percent_off != null) return `${percents.format(offer.percent_off / 100)} off`;
      if (offer.amount_off != null) return `${money(offer.amount_off, offer.currency)} off`;
      return offer.discount;
    },
  };
}
