// The server's API as the app uses it: one fetch wrapper, the token kept for this
// browser session only (sessionStorage), errors turned into sentences.

const TOKEN_KEY = "dtool-lookup-token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// A dataset or base URI as a path suffix, as dserver spells it: "s3://b/x" -> "s3/b/x".
export function uriPath(uri) {
  const [scheme, rest] = uri.includes("://") ? uri.split(/:\/\/(.*)/s) : ["", uri];
  const parts = rest.split("/").map(encodeURIComponent).join("/");
  return scheme ? `${encodeURIComponent(scheme)}/${parts}` : parts;
}

function explain(status, body) {
  const said = body && (body.msg || body.message || body.title);
  if (status === 401) {
    if (said === "Token has expired") return "Your token has expired: paste a new one.";
    if (said && said.startsWith("Missing")) return "Please sign in with a token.";
    return `Signing in failed: ${said || "the server does not know this user"}.`;
  }
  if (status === 422 && body && body.msg) return `That is not a valid token (${body.msg}).`;
  if (status === 422 && body && body.errors) {
    return `${said || "Invalid input"}: ${JSON.stringify(body.errors)}`;
  }
  return said || `The server answered ${status}.`;
}

// Call the API; resolve to {data, headers}; reject with an ApiError in words.
export async function call(method, path, { query, body, token } = {}) {
  const url = new URL(path.replace(/^\//, ""), document.baseURI);
  if (query) url.search = query.toString();
  const headers = { Accept: "application/json" };
  const bearer = token === undefined ? storedToken() : token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (ex) {
    throw new ApiError(0, `The server cannot be reached (${ex.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) throw new ApiError(response.status, explain(response.status, data));
  return { data, headers: response.headers };
}

export const get = (path, options) => call("GET", path, options);

// The X-Pagination header as an object (total, total_pages, page, ...), or null.
export function pagination(headers) {
  const raw = headers.get("X-Pagination");
  return raw ? JSON.parse(raw) : null;
}
