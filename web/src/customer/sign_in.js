// Staff sign in through the stack's user pool: authorization code with PKCE, the tokens kept for this tab's session.
import { UserManager, WebStorageStateStore } from "oidc-client-ts";

const NEVER = new Promise(() => {}); // the page is leaving for the sign-in page: nothing after this runs

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
    // The route (#/customers/<id>) comes back with the code, so staff land where they were.
    await users.signinRedirect({ url_state: window.location.hash });
    return NEVER;
  }

  const back = new URLSearchParams(window.location.search);
  let user;
  if (back.has("code") && back.has("state")) {
    // The code is spent either way: the address keeps the page and its route, not the code, so a reload after a
    // failed exchange signs in afresh.
    try {
      user = await users.signinRedirectCallback();
    } finally {
      window.history.replaceState(null, "", `${window.location.pathname}${user?.url_state ?? ""}`);
    }
  } else {
    user = await users.getUser();
  }
  if (!user || user.expired) return signInAgain();
  return {
    headers: () => ({ Authorization: `Bearer ${user.access_token}` }),
    signInAgain,
    async signOut() {
      await users.removeUser();
      window.location.assign(signIn.sign_out_url);
    },
  };
}
