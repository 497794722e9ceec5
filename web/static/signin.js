// DTM Atlas web map, sign-in (service/auth, service/core/access.py): a "Sign in" button in the panel
// header takes an API token (dtma_...) or an OpenID Connect access token from the agency's identity
// provider, pasted by the user. The token is kept in sessionStorage only (this tab, gone when it closes):
// never in the page's source, a cookie, localStorage or a URL. Every request to this origin then carries
// it as `Authorization: Bearer ...`: the page's own fetches (window.fetch is wrapped before app.js runs)
// and MapLibre's tiles, styles and TileJSON (app.js passes `transformRequest` below to the map). The
// server's answer to who the token is (GET /auth/whoami: role and countries) is shown; a refused token
// is forgotten at once. Signing in or out reloads the page so that every layer is asked again.
// window.dtmAtlasSignin exposes the state for tests.

const KEY = "dtm-atlas.token";
const store = window.sessionStorage;
const state = (window.dtmAtlasSignin = { whoami: null, error: null, transformRequest });

function sameOrigin(url) {
  try {
    return new URL(url, window.location.href).origin === window.location.origin;
  } catch {
    return false;
  }
}

function token() {
  return store.getItem(KEY);
}

const originalFetch = window.fetch.bind(window);
window.fetch = (input, init = {}) => {
  const url = typeof input === "string" || input instanceof URL ? String(input) : input.url;
  const t = token();
  if (!t || !sameOrigin(url)) return originalFetch(input, init);
  const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${t}`);
  return originalFetch(input, { ...init, headers });
};

// MapLibre's requests (tiles in workers included) go through this hook, not window.fetch
function transformRequest(url) {
  const t = token();
  return t && sameOrigin(url) ? { url, headers: { Authorization: `Bearer ${t}` } } : { url };
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

async function whoami() {
  const resp = await window.fetch("/auth/whoami", { headers: { accept: "application/json" } });
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new Error((body && body.detail) || `sign-in refused (HTTP ${resp.status})`);
  return body;
}

function describe(me) {
  const where = me.countries ? me.countries.join(", ") : "all countries";
  return `${me.role} (${where})`;
}

function mount() {
  const top = document.querySelector("#panel header .top");
  if (!top) return;
  const status = h("span", { id: "signin-status", class: "signin-status", "aria-live": "polite" });
  const button = h("button", { type: "button", id: "signin", title: "Sign in with a token to see partner data" });
  const input = h("input", {
    type: "password", id: "signin-token", autocomplete: "off", spellcheck: "false",
    placeholder: "API token or OpenID Connect access token", "aria-label": "Token",
  });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { id: "signin-form", hidden: true }, input, submit);
  const box = h("div", { class: "signin" }, button, status, form);
  top.after(box);
  const paint = () => {
    button.textContent = token() ? "Sign out" : "Sign in";
    status.textContent = state.whoami && state.whoami.signed_in ? describe(state.whoami) : state.error || "";
  };
  button.addEventListener("click", () => {
    if (token()) {
      store.removeItem(KEY);
      window.location.reload();
      return;
    }
    form.hidden = !form.hidden;
    if (!form.hidden) input.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    input.value = "";
    if (!value) return;
    store.setItem(KEY, value);
    try {
      state.whoami = await whoami();
      window.location.reload();
    } catch (err) {
      store.removeItem(KEY);
      state.error = err.message;
      paint();
    }
  });
  paint();
  if (token()) {
    whoami().then((me) => { state.whoami = me; paint(); }).catch((err) => {
      store.removeItem(KEY); // a token the server no longer takes (expired, revoked) is forgotten
      state.error = err.message;
      paint();
    });
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
