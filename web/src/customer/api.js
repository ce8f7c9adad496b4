// The staff API. A search is a JSON body, never a query string, so no phone, email or name lands in an access log or
// the browser's history; errors are RFC 9457 problems, shown with their own title and detail.
export class Problem extends Error {
  constructor(status, body) {
    const said = body.detail || body.text || `the staff API answered ${status}`;
    super(body.title ? `${body.title}: ${said}` : said);
    this.status = status;
  }
}

export function staffApi(config, session) {
  async function call(method, path, body) {
    const headers = { Accept: "application/json, application/problem+json", ...session?.headers() };
    if (method === "POST" && config.csrf) headers[config.csrf.header] = config.csrf.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const answer = await fetch(`${config.api}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    if (answer.status === 401 && session) return session.signInAgain();
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
