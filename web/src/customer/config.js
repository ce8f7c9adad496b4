// config.json beside the page says where the staff API is, the shop's locale and currency, and how staff sign in:
// the studio serves one (no sign-in, its CSRF token), the stack deploys another (its user pool), for the same files.
export async function loadConfig() {
  const answer = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
  if (!answer.ok) throw new Error(`config.json answered ${answer.status}`);
  return answer.json();
}
