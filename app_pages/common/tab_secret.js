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

// The report asks the server for the whole page, which the browser then builds on its one main thread. A first
// run that drew something the visitor waits for (Home's example, app.py) shows it first: the report waits until no
// element is still loading its code (a skeleton) and every chart has drawn a trace, then for an idle moment;
// at most MAX_WAIT_MS in all. Without that, building the page and drawing the chart took turns, and the example
// was drawn ~0.4 s later.
//
// The rerun it asks for names the page the browser knows, and the browser learns a run's page from the run's
// navigation message, which comes after this component (app.py opens the session before st.navigation). Sent in
// between, the report named the main script, which Streamlit serves as its default page: a link to /data landed on
// Home (QA: 4 of 15 share links whose pts= took a moment to decode). So it also waits until the run that drew this
// component is over; MAX_RUN_WAIT_MS only keeps a tab whose page never says so from waiting for good.
const MAX_WAIT_MS = 2000;
const MAX_RUN_WAIT_MS = 20000;
const POLL_MS = 30;

function settled() {
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
  return [...charts].every((chart) => chart.querySelector(".main-svg .mlayer > *") !== null);
}

function runOver() {
  const app = document.querySelector("[data-test-script-state]"); // the app root: Streamlit's run state
  return !app || app.getAttribute("data-test-script-state") !== "running";
}

function whenSettled(report) {
  const started = performance.now();
  const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 0));
  const check = () => {
    const waited = performance.now() - started;
    if ((settled() || waited > MAX_WAIT_MS) && (runOver() || waited > MAX_RUN_WAIT_MS)) report();
    else setTimeout(() => idle(check, { timeout: POLL_MS * 4 }), POLL_MS);
  };
  idle(check, { timeout: POLL_MS * 4 }); // after the run's messages already received are on the page
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
    whenSettled(() => setStateValue("secret", secret));
  }
}
