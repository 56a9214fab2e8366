// Imported first by main.ts: whatever goes wrong while the rest loads or
// runs is shown on screen, never a silent blank window.

export function showFatal(msg: string): void {
  const root = document.getElementById("app");
  if (!root) return;
  const box = document.createElement("div");
  box.className = "fatal";
  const title = document.createElement("h1");
  title.textContent = "Check-in";
  const pre = document.createElement("pre");
  pre.textContent = msg;
  box.append(title, pre);
  root.replaceChildren(box);
}

window.addEventListener("error", (e) => showFatal(String(e.error?.stack ?? e.message)));
window.addEventListener("unhandledrejection", (e) => showFatal(String(e.reason?.stack ?? e.reason)));

// Under the "C" locale (CI, bare Xvfb) WebKit reports navigator.language as
// "C", which Intl rejects; libraries that format with it (uPlot) would throw
// while loading. The app formats with the chosen language anyway.
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(Navigator.prototype, "language", { get: () => "ru-RU", configurable: true });
}
