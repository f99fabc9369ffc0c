// The app: who is signed in, which view the URL names (#/, #/dataset?uri=, #/overview,
// #/admin), and the messages every view shares.

import { ApiError, get, keepToken, storedToken } from "./api.js";
import { clear, h } from "./dom.js";
import { SearchView } from "./search.js";

// NOTE(webapp): only the search view is loaded with the page (the first thing people
// see); the others, and the YAML parser the dataset page needs, load when first opened.
const VIEWS = {
  search: async () => SearchView,
  dataset: async () => (await import("./dataset.js")).DatasetView,
  overview: async () => (await import("./overview.js")).OverviewView,
  admin: async () => (await import("./admin.js")).AdminView,
};
const PATHS = { "/dataset": "dataset", "/overview": "overview", "/admin": "admin" };

// The view a hash names and its parameters: "#/dataset?uri=x" -> ["dataset", {uri: x}].
function parseRoute(hash) {
  const [path, query] = hash.slice(1).split(/\?(.*)/s);
  return [PATHS[path] || "search", new URLSearchParams(query || "")];
}

class App {
  constructor() {
    this.main = document.getElementById("main");
    this.notice = document.getElementById("notice");
    this.who = document.getElementById("who");
    this.signOutButton = document.getElementById("sign-out");
    this.session = { user: null, singleUser: false };
    this.views = {};
    this.current = null;
    this.lastSearch = "#/";
    this.signOutButton.addEventListener("click", () => this.signOut());
    // NOTE(webapp): following a #link fires both popstate and hashchange; route once.
    const follow = () => window.location.hash !== this.routed && this.route();
    window.addEventListener("popstate", follow);
    window.addEventListener("hashchange", follow);
  }

  // The optional routes this server has, asked once when a page first needs them.
  get features() {
    this.featureSet ||= loadFeatures();
    return this.featureSet;
  }

  async start() {
    const token = storedToken();
    const singleUser = document.querySelector('meta[name="dtool-lookup-auth"]').content === "none";
    if (!singleUser && !token) return this.showSignIn("");
    // NOTE(webapp): the first result list is asked for beside /me, not after it.
    const [name, params] = parseRoute(window.location.hash || "#/");
    if (name === "search") {
      this.views.search = new SearchView(this);
      this.views.search.prefetch(params);
    }
    try {
      const { data } = await get("/me", { token });
      this.signedIn(data, singleUser);
    } catch (error) {
      this.views = {}; // and the list asked for beside /me with it
      if (!(error instanceof ApiError) || error.status !== 401) return this.say(error.message);
      keepToken(null);
      return this.showSignIn(token ? error.message : "");
    }
    this.route();
  }

  signedIn(user, singleUser) {
    this.session = { user, singleUser };
    this.who.textContent = singleUser ? `${user.username} (single-user mode)` : `Signed in as ${user.username}`;
    this.signOutButton.hidden = singleUser;
    document.querySelector('[data-view="admin"]').hidden = !user.is_admin;
  }

  showSignIn(message) {
    this.session = { user: null, singleUser: false };
    this.who.textContent = "";
    this.signOutButton.hidden = true;
    document.querySelector('[data-view="admin"]').hidden = true;
    this.current = null;
    const token = h("textarea", { id: "token", rows: 4, required: true, spellcheck: "false", autocomplete: "off" });
    const error = h("p", { className: "status error", role: "alert", id: "sign-in-error" }, message || "");
    const submit = async (event) => {
      event.preventDefault();
      const value = token.value.trim();
      try {
        const { data } = await get("/me", { token: value });
        keepToken(value);
        this.signedIn(data, false);
        this.route();
      } catch (ex) {
        error.textContent = ex.message;
        token.focus();
      }
    };
    clear(this.main, h("section", { className: "sign-in" },
      h("h1", {}, "Sign in"),
      h("p", {}, "Paste a token, e.g. from ", h("code", {}, "dtool-lookup user token NAME"),
        ". It is kept for this browser tab's session only."),
      h("form", { onsubmit: submit },
        h("label", { for: "token" }, "Token"), token, error,
        h("button", { type: "submit" }, "Sign in"))));
    token.focus();
  }

  signOut() {
    keepToken(null);
    this.views = {};
    this.showSignIn("");
    this.say("You are signed out.", false);
  }

  // Go to `hash`; typing replaces the history entry instead of adding one.
  navigate(hash, replace = false) {
    if (replace) window.history.replaceState(null, "", hash);
    else window.history.pushState(null, "", hash);
    this.route();
  }

  async route() {
    if (!this.session.user) return;
    const hash = window.location.hash || "#/";
    this.routed = window.location.hash;
    const [name, params] = parseRoute(hash);
    if (name === "search") this.lastSearch = hash;
    for (const link of document.querySelectorAll("nav a")) {
      if (link.dataset.view === name) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    if (!this.views[name]) {
      let View;
      try {
        View = await VIEWS[name]();
      } catch (error) {
        return this.say(`This page could not be loaded (${error.message}).`);
      }
      // Another navigation may have happened while the view loaded.
      if ((window.location.hash || "#/") !== hash || !this.session.user) return;
      this.views[name] ||= new View(this);
    }
    const view = this.views[name];
    if (this.current !== view) {
      clear(this.main, view.element);
      this.current = view;
      document.title = name === "search" ? "dtool-lookup" : `${name[0].toUpperCase()}${name.slice(1)} · dtool-lookup`;
    }
    this.hide();
    view.show(params);
  }

  // An API failure a view could not handle: an ended session goes back to signing in.
  fail(error) {
    if (error instanceof ApiError && error.status === 401) {
      keepToken(null);
      this.views = {};
      this.showSignIn(error.message);
      return;
    }
    this.say(error.message);
  }

  say(message, isError = true) {
    this.notice.textContent = message;
    this.notice.className = isError ? "error" : "info";
    this.notice.hidden = false;
  }

  hide() {
    this.notice.hidden = true;
  }
}

// The paths the server documents: optional routes (graph, signed URLs) are used only when there.
async function loadFeatures() {
  try {
    const { data } = await get("/doc/openapi.json", { token: null });
    return new Set(Object.keys(data.paths || {}));
  } catch {
    return new Set();
  }
}

new App().start();
