// A customer's name as staff read it: first and last, or null when the channels never gave one.
export function fullName(customer) {
  return [customer.first_name, customer.last_name].filter(Boolean).join(" ") || null;
}
