// Loads a recloop report in headless Chromium with networking disabled and
// checks what a reader would see: no console errors, every chart container
// drawn (an <svg> or <canvas> inside), and a working persona drill-down.
// Saves a screenshot of every section.
//
//   node --experimental-websocket reports/browsercheck/check.mjs out/quickstart/report.html [screenshot-dir]
//
// Needs Node 20+ and Debian's chromium (apt-get install chromium); it talks
// to Chromium over the DevTools protocol, so it needs no npm packages.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [report, shots = "report-screenshots"] = process.argv.slice(2);
if (!report) {
  console.error("usage: check.mjs report.html [screenshot-dir]");
  process.exit(2);
}
const browserBin = process.env.CHROMIUM || "chromium";
const profile = mkdtempSync(join(tmpdir(), "recloop-chromium-"));
const browser = spawn(browserBin, [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
  "--remote-debugging-port=0", `--user-data-dir=${profile}`,
  // No network: every lookup fails and every proxy connection is refused.
  "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
  "about:blank",
], { stdio: ["ignore", "ignore", "pipe"] });

const endpoint = await new Promise((ok, fail) => {
  let buf = "";
  browser.stderr.on("data", (d) => {
    buf += d;
    const m = buf.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) ok(m[1]);
  });
  browser.on("exit", (code) => fail(new Error(`chromium exited with ${code}: ${buf}`)));
  setTimeout(() => fail(new Error("chromium did not start")), 30000);
});

const ws = new WebSocket(endpoint);
await new Promise((ok) => ws.addEventListener("open", ok));
let nextId = 1;
const pending = new Map();
const listeners = [];
ws.addEventListener("message", (e) => {
  const msg = JSON.parse(e.data);
  if (msg.id && pending.has(msg.id)) {
    const { ok, fail } = pending.get(msg.id);
    pending.delete(msg.id);
    msg.error ? fail(new Error(msg.error.message)) : ok(msg.result);
  } else if (msg.method) {
    listeners.forEach((l) => l(msg));
  }
});
const send = (method, params = {}, sessionId) => new Promise((ok, fail) => {
  const id = nextId++;
  pending.set(id, { ok, fail });
  ws.send(JSON.stringify({ id, method, params, sessionId }));
});
const waitFor = (method) => new Promise((ok) => {
  const l = (msg) => { if (msg.method === method) { listeners.splice(listeners.indexOf(l), 1); ok(msg.params); } };
  listeners.push(l);
});

const errors = [];
listeners.push((msg) => {
  if (msg.method === "Runtime.consoleAPICalled" && (msg.params.type === "error" || msg.params.type === "assert")) {
    errors.push("console: " + msg.params.args.map((a) => a.value ?? a.description).join(" "));
  } else if (msg.method === "Runtime.exceptionThrown") {
    errors.push("exception: " + (msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text));
  } else if (msg.method === "Log.entryAdded" && msg.params.entry.level === "error") {
    errors.push("log: " + msg.params.entry.text);
  }
});

const failures = [];
try {
  const { targetId } = await send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
  const s = (method, params) => send(method, params, sessionId);
  await s("Runtime.enable");
  await s("Log.enable");
  await s("Page.enable");
  await s("Network.enable");
  await s("Network.emulateNetworkConditions", { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await s("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
  const loaded = waitFor("Page.loadEventFired");
  const started = Date.now();
  await s("Page.navigate", { url: "file://" + resolve(report) });
  await loaded;
  const loadMs = Date.now() - started;
  const evaluate = async (expr) => {
    const r = await s("Runtime.evaluate", { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.text);
    return r.result.value;
  };
  // The page draws the charts near the screen first and the rest one by
  // one; it marks the document when all are drawn.
  let allDrawnMs = -1;
  for (let waited = 0; waited < 30000; waited += 100) {
    const done = await evaluate(`document.documentElement.hasAttribute("data-charts-drawn") || document.querySelectorAll("[data-chart]").length === 0`);
    if (done) { allDrawnMs = Date.now() - started; break; }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const charts = await evaluate(`(() => {
    const boxes = [...document.querySelectorAll("[data-chart]")];
    return { total: boxes.length, undrawn: boxes.filter((b) => b.hidden || !b.querySelector("svg, canvas")).map((b) => b.id) };
  })()`);
  if (charts.undrawn.length > 0) failures.push(`charts not drawn: ${charts.undrawn.join(", ")}`);
  const drill = await evaluate(`(() => {
    const pick = document.getElementById("persona-pick");
    if (!pick) return { present: false };
    const panels = [...document.querySelectorAll("[data-persona]")];
    const target = pick.options[pick.options.length - 1].value;
    pick.value = target;
    pick.dispatchEvent(new Event("change"));
    const shown = panels.filter((p) => !p.hidden);
    const ok = shown.length === 1 && shown[0].id === target && shown[0].open && shown[0].querySelector("ol.rounds li") !== null;
    pick.value = pick.options[0].value;
    pick.dispatchEvent(new Event("change"));
    return { present: true, personas: panels.length, ok, pickerVisible: !document.getElementById("persona-picker").hidden };
  })()`);
  if (drill.present && !(drill.ok && drill.pickerVisible)) failures.push("the persona drill-down does not switch personas");
  mkdirSync(shots, { recursive: true });
  const sections = await evaluate(`(() => {
    const hs = [...document.querySelectorAll("h2[id]")];
    const end = document.documentElement.scrollHeight;
    return hs.map((h, i) => {
      const top = h.getBoundingClientRect().top + window.scrollY - 8;
      const next = i + 1 < hs.length ? hs[i + 1].getBoundingClientRect().top + window.scrollY - 8 : end;
      return { id: h.id, top, height: Math.min(next - top, 6000) };
    });
  })()`);
  // Tall sections are saved in parts of at most 1600 pixels, readable at a glance.
  const part = 1600;
  for (const sec of sections) {
    const parts = Math.max(1, Math.ceil(sec.height / part));
    for (let k = 0; k < parts; k++) {
      const height = Math.max(1, Math.min(part, sec.height - k * part));
      const shot = await s("Page.captureScreenshot", { format: "png", captureBeyondViewport: true,
        clip: { x: 0, y: sec.top + k * part, width: 1280, height, scale: 1 } });
      const name = parts === 1 ? `${sec.id}.png` : `${sec.id}-${k + 1}.png`;
      writeFileSync(join(shots, name), Buffer.from(shot.data, "base64"));
    }
  }
  failures.push(...errors);
  console.log(JSON.stringify({ report, loadMs, allDrawnMs, charts, drill, sections: sections.map((x) => x.id), errors, failures }, null, 2));
} catch (e) {
  failures.push(String(e));
  console.error(e);
} finally {
  ws.close();
  await new Promise((ok) => {
    if (browser.exitCode !== null) return ok();
    browser.once("exit", ok);
    browser.kill();
  });
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  } catch (e) {
    console.error(`could not remove ${profile}: ${e.message}`);
  }
}
process.exit(failures.length > 0 ? 1 : 0);
