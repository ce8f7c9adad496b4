// The customer screen for store staff and agents: one static page over the staff API, served by the local studio
// and by CloudFront alike. The route is the URL's hash (#/ to search, #/customers/<id> for a customer), so a static
// host needs no rewrites and back and forward work; a phone, email or name never enters the URL.
import { staffApi } from "./api.js";
import { loadConfig } from "./config.js";
import { showCustomer } from "./customer_view.js";
import { hideProblem, showProblem } from "./dom.js";
import { findView } from "./find_view.js";
import { formats } from "./format.js";
import { SignInFailed, signedIn } from "./sign_in.js";

const CUSTOMER_ROUTE = /^#\/customers\/([^/]+)$/;

async function start() {
  const main = document.getElementById("main");
  const problem = document.getElementById("problem");
  const find = document.getElementById("find-view");
  const customer = document.getElementById("customer-view");
  let config;
  let session;
  try {
    config = await loadConfig();
    session = config.sign_in ? await signedIn(config.sign_in) : null;
  } catch (error) {
    // A sign-in that did not happen says so itself; anything else is the screen failing to start.
    const said =
      error instanceof SignInFailed ? error.message : `The customer screen could not start: ${error.message}`;
    showProblem(problem, new Error(said));
    main.setAttribute("aria-busy", "false");
    return;
  }
  if (config.studio) {
    // Served by the local studio: a way back to it, and which working tree's journeys the demo runs on.
    const studio = document.getElementById("studio");
    studio.href = config.studio.href;
    studio.hidden = false;
    const where = document.getElementById("where");
    where.textContent = `${config.studio.folder}/ in this working tree`;
    where.hidden = false;
  }
  if (session) {
    const signOut = document.getElementById("sign-out");
    signOut.addEventListener("click", () => session.signOut());
    signOut.hidden = false;
  }
  const api = staffApi(config, session);
  const format = formats(config);
  findView({ api, problem });

  let shown = 0; // the latest route wins when staff move on before a customer has loaded
  async function route(event) {
    const wanted = ++shown;
    const match = window.location.hash.match(CUSTOMER_ROUTE);
    hideProblem(problem);
    if (!match) {
      customer.hidden = true;
      find.hidden = false;
      main.setAttribute("aria-busy", "false");
      if (event) document.getElementById("find-heading").focus(); // moved here, not opened here
      return;
    }
    const customerId = decodeURIComponent(match[1]);
    main.setAttribute("aria-busy", "true");
    try {
      const profile = await api.customer(customerId);
      if (wanted !== shown) return;
      showCustomer(profile, { api, format });
      find.hidden = true;
      customer.hidden = false;
      document.getElementById("customer-heading").focus();
    } catch (error) {
      if (wanted !== shown) return;
      customer.hidden = true;
      find.hidden = false;
      showProblem(problem, error);
    } finally {
      if (wanted === shown) main.setAttribute("aria-busy", "false");
    }
  }
  window.addEventListener("hashchange", route);
  await route();
}

start();
