// Administration: users, base URIs and who may search or register in each, through the
// same routes (and so the same rules) as the API.

import { call, get, uriPath } from "./api.js";
import { clear, h } from "./dom.js";

const LIMIT = 100;

function names(text) {
  return [...new Set(text.split(/[\s,]+/).map((name) => name.trim()).filter(Boolean))];
}

export class AdminView {
  constructor(app) {
    this.app = app;
    this.users = h("section", { "aria-labelledby": "users-title" });
    this.baseUris = h("section", { "aria-labelledby": "base-uris-title" });
    this.permissions = h("section", { "aria-labelledby": "permissions-title" });
    this.status = h("p", { className: "status", role: "status" });
    this.element = h("section", { className: "admin" },
      h("h1", {}, "Administration"), this.status,
      h("div", { className: "admin-columns" }, this.users, this.baseUris), this.permissions);
  }

  async show() {
    if (!this.app.session.user || !this.app.session.user.is_admin) {
      clear(this.element, h("h1", {}, "Administration"), h("p", {}, "Only admins may see this page."));
      return;
    }
    await Promise.all([this.loadUsers(), this.loadBaseUris()]);
  }

  async act(method, path, body, done) {
    this.status.classList.remove("error");
    this.status.textContent = "Saving…";
    try {
      await call(method, path, { body });
      this.status.textContent = "Saved.";
      await done();
    } catch (error) {
      this.status.classList.add("error");
      this.status.textContent = error.message;
      if (error.status === 401) this.app.fail(error);
    }
  }

  async loadUsers() {
    let users = [];
    try {
      users = (await get("/users", { query: new URLSearchParams({ page_size: LIMIT }) })).data;
    } catch (error) {
      this.app.fail(error);
    }
    const reload = () => this.loadUsers();
    const name = h("input", { id: "new-user", autocomplete: "off", required: true });
    const admin = h("input", { id: "new-user-admin", type: "checkbox" });
    const add = (event) => {
      event.preventDefault();
      this.act("PUT", `/users/${encodeURIComponent(name.value.trim())}`, { is_admin: admin.checked }, reload);
    };
    clear(this.users,
      h("h2", { id: "users-title" }, "Users"),
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "User"), h("th", { scope: "col" }, "Admin"),
          h("th", { scope: "col" }, h("span", { className: "visually-hidden" }, "Actions")))),
        h("tbody", {}, users.map((user) => {
          const id = `admin-${user.username}`.replace(/[^A-Za-z0-9_-]/g, "_");
          return h("tr", {},
            h("th", { scope: "row" }, h("label", { for: id }, user.username)),
            h("td", {}, h("input", { type: "checkbox", id, checked: user.is_admin,
              "aria-label": `${user.username} is an admin`,
              onchange: (event) => this.act("PUT", `/users/${encodeURIComponent(user.username)}`,
                { is_admin: event.target.checked }, reload) })),
            h("td", {}, h("button", { type: "button", "aria-label": `Delete user ${user.username}`,
              onclick: () => window.confirm(`Delete user ${user.username}?`) &&
                this.act("DELETE", `/users/${encodeURIComponent(user.username)}`, undefined, reload) }, "Delete")));
        }))),
      users.length >= LIMIT && h("p", { className: "muted" }, `The first ${LIMIT} users are shown.`),
      h("form", { className: "inline", onsubmit: add },
        h("label", { for: "new-user" }, "New user"), name,
        h("label", { for: "new-user-admin" }, admin, " admin"),
        h("button", { type: "submit" }, "Add user")));
  }

  async loadBaseUris() {
    let baseUris = [];
    try {
      baseUris = (await get("/base-uris", { query: new URLSearchParams({ page_size: LIMIT }) })).data;
    } catch (error) {
      this.app.fail(error);
    }
    const reload = () => this.loadBaseUris();
    const input = h("input", { id: "new-base-uri", autocomplete: "off", required: true, placeholder: "s3://bucket or file://host/path" });
    const add = (event) => {
      event.preventDefault();
      this.act("PUT", `/base-uris/${uriPath(input.value.trim())}`, {}, reload);
    };
    clear(this.baseUris,
      h("h2", { id: "base-uris-title" }, "Base URIs"),
      h("ul", { className: "plain" }, baseUris.map(({ base_uri: baseUri }) =>
        h("li", {}, h("button", { type: "button", className: "link",
          onclick: () => this.loadPermissions(baseUri) }, baseUri)))),
      h("form", { className: "inline", onsubmit: add },
        h("label", { for: "new-base-uri" }, "New base URI"), input, h("button", { type: "submit" }, "Add base URI")));
  }

  async loadPermissions(baseUri) {
    let data;
    try {
      data = (await get(`/base-uris/${uriPath(baseUri)}`)).data;
    } catch (error) {
      this.status.textContent = error.message;
      return;
    }
    const search = h("textarea", { id: "search-users", rows: 2 });
    search.value = data.users_with_search_permissions.join(", ");
    const register = h("textarea", { id: "register-users", rows: 2 });
    register.value = data.users_with_register_permissions.join(", ");
    const save = (event) => {
      event.preventDefault();
      const body = {
        users_with_search_permissions: names(search.value),
        users_with_register_permissions: names(register.value),
      };
      this.act("PUT", `/base-uris/${uriPath(baseUri)}`, body, () => this.loadPermissions(baseUri));
    };
    clear(this.permissions,
      h("h2", { id: "permissions-title" }, `Permissions on ${baseUri}`),
      h("form", { onsubmit: save, className: "editor" },
        h("label", { for: "search-users" }, "Users who may search (comma-separated)"), search,
        h("label", { for: "register-users" }, "Users who may register and curate (comma-separated)"), register,
        h("div", { className: "actions" }, h("button", { type: "submit" }, "Save permissions"))));
    search.focus();
  }
}
