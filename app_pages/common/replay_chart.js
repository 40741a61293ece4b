// Two jobs for the replay charts of a page, installed once per page load (every page run mounts this again).
//
// 1. Plotly rejects the promise of an animation that another one interrupts, and with no reason at all: animate()
// hands the last frame it queues the promise's reject as its onInterrupt, and an animate() in mode "immediate"
// (the replay's ❚❚ Pause, a click on its slider) empties the queue through those, then emits
// plotly_animationinterrupted. The Play button that started the animation drops its promise, so the browser
// reports "Uncaught (in promise) undefined" each time Pause stops a Play before its last frame. Stopping it is the
// point: this cancels those reports, and only those (a rejection without a reason just after an interruption).
//
// 2. Play, Pause and the slider run in the browser, but the page's Step starts from the server's frame. When a
// mount is given data {chart: the chart's key, frame: the server's frame}, the frame the chart comes to rest on
// (after a Pause, a slider click or drag, the end of a Play) is sent to the server as the trigger "frame": once per
// rest, not once per frame, and only when it differs from the server's.
const WINDOW_MS = 1000; // the report follows in the same click's task; a busy machine may take a little longer
const REST_EVENTS = ["plotly_animated", "plotly_animationinterrupted", "plotly_sliderchange"];
let interruptedAt = -Infinity;
let pressed = null; // the chart under a held pointer: a slider drag reports once, when it is let go
// A chart's key -> {frame: the server's, report(frame)}; on window, as the listeners are installed only once.
const reporters = (window.nnlabReplayReporters ??= new Map());
const charts = new WeakMap(); // a chart's element -> its listeners and whether it is playing

function noteInterruption() {
  interruptedAt = performance.now();
}

function quietInterruption(event) {
  if (event.reason === undefined && performance.now() - interruptedAt < WINDOW_MS) event.preventDefault();
}

// The chart's key, as Streamlit puts it in the class of the chart's element ("st-key-train-replay_chart").
function reporterOf(chart) {
  for (const [key, reporter] of reporters) {
    const box = document.querySelector(`.st-key-${key.trim().replaceAll(/[^a-zA-Z0-9_-]/g, "-")}`);
    if (box && box.contains(chart)) return reporter;
  }
  return null;
}

// The slider's step is the frame's index (one step per frame); Plotly moves it along as a Play shows each frame.
function report(chart) {
  const state = charts.get(chart);
  const reporter = reporterOf(chart);
  const frame = chart.layout?.sliders?.[0]?.active;
  if (!state || state.playing || pressed === chart || !reporter || !Number.isInteger(frame)) return;
  if (frame !== reporter.frame) {
    reporter.frame = frame; // until the server's rerun says so itself: one report per rest
    reporter.report(frame);
  }
}

// ▶ Play goes on from Plotly's current frame ("fromcurrent"), which it forgets when a rerun draws the chart again
// (after a Step, or after a Pause reported here): Play then started over from epoch 0. Before a press on a chart at
// rest, its current frame is set back to the one on screen, the slider's (each step animates to its frame's name).
function holdCurrentFrame(chart) {
  const slider = chart.layout?.sliders?.[0];
  const name = slider?.steps?.[slider.active]?.args?.[0]?.[0];
  if (chart._fullLayout && name !== undefined && name !== null) chart._fullLayout._currentFrame = String(name);
}

// A chart's events are Plotly's own (gd.on), not DOM events: listen on a chart when it is pressed, before its
// button or slider acts. Plotly makes a new emitter when it draws a chart afresh, hence off, then on again.
function watchChart(event) {
  const chart = event.target instanceof Element ? event.target.closest(".js-plotly-plot") : null;
  if (!chart || typeof chart.on !== "function") return;
  pressed = chart;
  if (!charts.has(chart)) {
    const state = {playing: false};
    const rest = () => setTimeout(() => report(chart)); // after the event's other listeners (the slider's own)
    state.listeners = [["plotly_animationinterrupted", noteInterruption],
                       ["plotly_animating", () => { state.playing = true; }],
                       ["plotly_animated", () => { state.playing = false; }],
                       ...REST_EVENTS.map((name) => [name, rest])];
    charts.set(chart, state);
  }
  const state = charts.get(chart);
  if (!state.playing) holdCurrentFrame(chart);
  for (const [name, listener] of state.listeners) {
    chart.removeListener(name, listener);
    chart.on(name, listener);
  }
}

function letGo() {
  const chart = pressed;
  pressed = null;
  if (chart) setTimeout(() => report(chart));
}

function install() {
  if (window.nnlabReplayGuard) return;
  window.nnlabReplayGuard = true;
  document.addEventListener("pointerdown", watchChart, true);
  window.addEventListener("pointerup", letGo, true);
  window.addEventListener("pointercancel", letGo, true);
  window.addEventListener("unhandledrejection", quietInterruption);
}

// Called at each mount and again whenever its data changes (the server's frame after a rerun).
export default function ({data, setTriggerValue}) {
  install();
  if (!data) return undefined;
  const reporter = {frame: data.frame, report: (frame) => setTriggerValue("frame", frame)};
  reporters.set(data.chart, reporter);
  return () => {
    if (reporters.get(data.chart) === reporter) reporters.delete(data.chart);
  };
}
