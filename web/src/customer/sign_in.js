// Staff sign in through the stack's user pool: authorization code with PKCE, the tokens kept for this tab's session.
// An access token lasts an hour, the refresh token a shift: oidc-client-ts renews the access token with it (in the
// background, and here when one has expired or the API refuses it), so staff sign in once a shift and every call
// carries the newest token.
import { UserManager, WebStorageStateStore } from "oidc-client-ts";

const NEVER = new Promise(() => {}); // the page is leaving for the sign-in page: nothing after this runs
// What the user pool's `error` on the way back means, for the member of staff who was signing in.
const SIGN_IN_ERRORS = {
  access_denied: "the sign-in was cancelled or refused",
  login_required: "the sign-in page asked you to sign in",
  server_error: "the sign-in page had a problem",
  temporarily_unavailable: "the sign-in page is unavailable for a moment",
};

export class SignInFailed extends Error {}

export async function signedIn(signIn) {
  const tabOnly = () => new WebStorageStateStore({ store: window.sessionStorage });
  const users = new UserManager({
    authority: signIn.authority,
    client_id: signIn.client_id,
    redirect_uri: signIn.redirect_uri,
    response_type: "code",
    scope: "openid",
    userStore: tabOnly(),
    stateStore: tabOnly(),
  });
  async function signInAgain() {
    await users.removeUser();
    // The route (#/customers/<id>) comes back with the code, so staff land where they were. prompt=login: on a
    // shared counter computer the user pool's own sign-in cookie outlives the tab, and must not sign the next person
    // in as the one before.
    await users.signinRedirect({ url_state: window.location.hash, prompt: "login" });
    return NEVER;
  }
  // A new access token from the refresh token, or null when there is none or it is spent (the shift is over, or it
  // was revoked at sign-out).
  async function renewed() {
    const user = await users.getUser();
    if (!user?.refresh_token) return null;
    try {
      return await users.signinSilent();
    } catch {
      return null;
    }
  }
  async function current() {
    const user = await users.getUser(); // the stored one: renewed in the background since the page started, maybe
    if (user && !user.expired) return user;
    return (await renewed()) ?? signInAgain();
  }

  const back = new URLSearchParams(window.location.search);
  const cameBack = back.has("state") && (back.has("code") || back.has("error"));
  if (cameBack) await signInCallback(users);
  await current();
  let accepted = false; // has the API taken a token since this page started?
  return {
    headers: async () => bearer(await current()),
    // The API refused the token (401): renewed once and sent again. Without a refresh token, signed in again, unless
    // this page has just come back from a sign-in whose token the API never took: another sign-in would loop.
    async refused() {
      const user = await renewed();
      if (user) return bearer(user);
      if (cameBack && !accepted) throw refusedSignIn();
      return signInAgain();
    },
    accepted() {
      accepted = true;
    },
    refusedSignIn,
    async signOut() {
      await users.removeUser();
      window.location.assign(signIn.sign_out_url);
    },
  };
}

function bearer(user) {
  return { Authorization: `Bearer ${user.access_token}` };
}

function refusedSignIn() {
  return new SignInFailed(
    "The staff API does not accept your sign-in. Sign out and sign in again; if it happens again, ask your manager " +
      "to check your account.",
  );
}

// Back from the user pool with a code (exchanged for tokens) or an error (said, not answered with another sign-in).
// The code is spent either way: the address keeps the page and its route, not the code, so a reload signs in afresh.
async function signInCallback(users) {
  let route = "";
  try {
    route = (await users.signinRedirectCallback()).url_state ?? "";
  } catch (error) {
    route = error.url_state ?? "";
    const why = SIGN_IN_ERRORS[error.error] ?? (error.error ? `the sign-in page answered “${error.error}”` : null);
    throw new SignInFailed(
      `You are not signed in: ${why ?? "the sign-in did not finish"}. Reload the page to sign in again.`,
    );
  } finally {
    window.history.replaceState(null, "", `${window.location.pathname}${route}`);
  }
}
