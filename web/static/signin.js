// DTM Atlas web map, sign-in (service/auth/sessions.py, service/core/access.py): a "Sign in" button in
// the panel header takes an API token (dtma_...) or an OpenID Connect access token from the agency's
// identity provider, pasted by the user, and sends it ONCE to POST /auth/session (as
// `Authorization: Bearer`). The server answers with a session cookie that is HttpOnly (no script of the
// page can read it), SameSite=Strict and Secure over HTTPS, holding an opaque session id, never the
// token. Nothing is written to sessionStorage, localStorage, the URL or the page: the token only lives
// in the input field until the request is sent. The browser then sends the cookie on this origin's GET
// requests (the page's fetches and MapLibre's tiles, styles and TileJSON alike); writes never ride it.
// The server's answer to who the session is (GET /auth/whoami: role and countries) is shown. Signing
// out is DELETE /auth/session (the server ends the session and clears the cookie). Signing in or out
// reloads the page so that every layer is asked again. window.dtmAtlasSignin exposes the state for tests.

const state = (window.dtmAtlasSignin = { whoami: null, error: null });

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

async function asJson(resp) {
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new Error((body && body.detail) || `sign-in refused (HTTP ${resp.status})`);
  return body;
}

const whoami = () => fetch("/auth/whoami", { headers: { accept: "application/json" } }).then(asJson);

function signIn(token) {
  return fetch("/auth/session", {
    method: "POST",
    headers: { accept: "application/json", authorization: `Bearer ${token}` },
  }).then(asJson);
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
  const signedIn = () => Boolean(state.whoami && state.whoami.signed_in);
  const paint = () => {
    button.textContent = signedIn() ? "Sign out" : "Sign in";
    status.textContent = signedIn() ? describe(state.whoami) : state.error || "";
  };
  button.addEventListener("click", async () => {
    if (signedIn()) {
      await fetch("/auth/session", { method: "DELETE" });
      window.location.reload();
      return;
    }
    form.hidden = !form.hidden;
    if (!form.hidden) input.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    input.value = ""; // the token leaves the page with this one request
    if (!value) return;
    try {
      await signIn(value);
      window.location.reload();
    } catch (err) {
      state.error = err.message;
      paint();
    }
  });
  paint();
  whoami().then((me) => { state.whoami = me; paint(); }).catch((err) => {
    state.whoami = { signed_in: false };
    state.error = err.message;
    paint();
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
