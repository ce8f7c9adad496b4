// Elements built from text, never from HTML strings: a name or a ticket's subject shows as the customer wrote it.
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

export function showProblem(alert, error) {
  alert.textContent = error.message;
  alert.hidden = false;
}

export function hideProblem(alert) {
  alert.textContent = "";
  alert.hidden = true;
}
