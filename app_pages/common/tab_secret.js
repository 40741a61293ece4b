// This browser tab's secret: kept in the tab's sessionStorage (never a cookie or localStorage, which every tab
// and the next person at the same computer would share), and never in a URL. A reload, Back or Forward keeps
// it; a new tab, another browser, or the same browser once the tab is closed has none and makes a new one.
//
// data.have: Python already holds this tab's secret (then nothing is sent, so no rerun is asked for).
// data.reset: a value Python sends once to replace the secret ("End my session"); carried out once per value.
const SECRET = "nnlab.tab.secret";
const RESET_DONE = "nnlab.tab.reset";
const SHAPE = /^[A-Za-z0-9_-]{43}$/; // 32 random bytes, base64url without padding

function freshSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function tabStorage() {
  try {
    return window.sessionStorage; // null-safe below: a browser that refuses storage gets a secret per page load
  } catch (error) {
    return null;
  }
}

export default function (component) {
  const { data, setStateValue } = component;
  const storage = tabStorage();
  let secret = storage ? storage.getItem(SECRET) : null;
  const reset = data && typeof data.reset === "string" ? data.reset : null;
  if (reset && storage && storage.getItem(RESET_DONE) !== reset) {
    secret = null;
    storage.setItem(RESET_DONE, reset);
  }
  if (!secret || !SHAPE.test(secret)) {
    secret = freshSecret();
    if (storage) storage.setItem(SECRET, secret);
  }
  if (!(data && data.have)) {
    setStateValue("secret", secret);
  }
}
