// Plotly rejects the promise of an animation that another one interrupts, and with no reason at all: animate()
// hands the last frame it queues the promise's reject as its onInterrupt, and an animate() in mode "immediate"
// (the replay's ❚❚ Pause, a click on its slider) empties the queue through those, then emits
// plotly_animationinterrupted. The Play button that started the animation drops its promise, so the browser
// reports "Uncaught (in promise) undefined" each time Pause stops a Play before its last frame. Stopping it is the
// point: this cancels those reports, and only those (a rejection without a reason just after an interruption).
const WINDOW_MS = 1000; // the report follows in the same click's task; a busy machine may take a little longer
let interruptedAt = -Infinity;

function noteInterruption() {
  interruptedAt = performance.now();
}

// A chart's events are Plotly's own (gd.on), not DOM events: listen on a chart when it is pressed, before its
// button or slider acts. Plotly makes a new emitter when it draws a chart afresh, hence off, then on again.
function watchChart(event) {
  const chart = event.target instanceof Element ? event.target.closest(".js-plotly-plot") : null;
  if (chart && typeof chart.on === "function") {
    chart.removeListener("plotly_animationinterrupted", noteInterruption);
    chart.on("plotly_animationinterrupted", noteInterruption);
  }
}

function quietInterruption(event) {
  if (event.reason === undefined && performance.now() - interruptedAt < WINDOW_MS) event.preventDefault();
}

export default function () {
  if (window.nnlabReplayGuard) return; // once per page load: every page run mounts it again
  window.nnlabReplayGuard = true;
  document.addEventListener("pointerdown", watchChart, true);
  window.addEventListener("unhandledrejection", quietInterruption);
}
