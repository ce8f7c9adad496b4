// The staff API. A search is a JSON body, never a query string, so no phone, email or name lands in an access log or
// the browser's history; errors are RFC 9457 problems, shown with their own title and detail.
export class Problem extends Error {
  constructor(status, body) {
    const said = body.detail || body.text || `the staff API answered ${status}`;
    super(body.title ? `${body.title}: ${said}` : said);
    this.status = status;
    this.field = body.field;
  }
}

export function staffApi(config, session) {
  async function send(method, path, body, signedIn) {
    const headers = { Accept: "application/json, application/problem+json", ...signedIn };
    if (method === "POST" && config.csrf) headers[config.csrf.header] = config.csrf.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(`${config.api}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  }
  async function call(method, path, body) {
    let answer = await send(method, path, body, await session?.headers());
    if (answer.status === 401 && session) {
      // Refused (expired, revoked): sent once more with a renewed token, so the search or "Done" is not lost.
      answer = await send(method, path, body, await session.refused());
      if (answer.status === 401) throw session.refusedSignIn();
    }
    session?.accepted();
    const text = await answer.text();
    if (!answer.ok) throw new Problem(answer.status, parsed(text));
    return JSON.parse(text);
  }
  const part = encodeURIComponent;
  return {
    search: (wanted) => call("POST", "/search", wanted),
    customer: (customerId) => call("GET", `/customers/${part(customerId)}`),
    done: (customerId, actionId) => call("POST", `/customers/${part(customerId)}/actions/${part(actionId)}/done`),
  };
}

function parsed(text) {
  try {
    const body = JSON.parse(text);
    return typeof body === "object" && body !== null ? body : { text };
  } catch {
    return { text };
  }
}
