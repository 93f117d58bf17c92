// The web UI's script, served as /ui/app.js. Plain browser JavaScript: it signs in with a token
// kept in this tab's sessionStorage, lists sessions, creates and deletes them, and opens a
// terminal over the agentbox.v1 WebSocket with the token carried as a subprotocol.
export const CLIENT_JS = String.raw`"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem("agentbox.token") || "", namespace: sessionStorage.getItem("agentbox.namespace") || "default", poll: 0, socket: null, term: null, fit: null, waiting: false };

  function showError(message) { $("error").textContent = message || ""; }

  async function api(method, path, body) {
    const init = { method, headers: { Authorization: "Bearer " + state.token } };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const res = await fetch("/api/v1" + path, init);
    const text = await res.text();
    let data = text;
    try { data = JSON.parse(text); } catch (_) { /* logs are text */ }
    if (!res.ok) {
      const message = data && data.error ? data.error.message : "HTTP " + res.status;
      if (res.status === 401) signOut(message);
      throw new Error(message);
    }
    return data;
  }

  function signOut(message) {
    sessionStorage.removeItem("agentbox.token");
    state.token = "";
    closeTerminal();
    route();
    showError(message || "");
  }

  function show(view) {
    $("sign-in").hidden = view !== "sign-in";
    $("sessions-view").hidden = view !== "sessions";
    $("terminal-view").hidden = view !== "terminal";
    $("sign-out").hidden = view === "sign-in";
  }

  async function route() {
    clearInterval(state.poll);
    if (!state.token) { show("sign-in"); return; }
    const parts = location.hash.replace(/^#\/?/, "").split("/");
    if ((parts[0] === "term" || parts[0] === "view") && parts.length === 3) {
      openTerminal(decodeURIComponent(parts[1]), decodeURIComponent(parts[2]), parts[0] === "view");
      return;
    }
    closeTerminal();
    show("sessions");
    await Promise.all([loadTemplates(), loadSessions()]).catch((e) => showError(e.message));
    state.poll = setInterval(() => loadSessions().catch((e) => showError(e.message)), 2000);
  }

  async function loadTemplates() {
    const list = await api("GET", "/namespaces/" + encodeURIComponent(state.namespace) + "/templates");
    const select = $("template");
    select.replaceChildren(...list.items.map((t) => new Option(t.metadata.name, t.metadata.name)));
  }

  function button(label, onClick, cls) {
    const b = document.createElement("button");
    b.textContent = label;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    return b;
  }

  async function loadSessions() {
    const list = await api("GET", "/namespaces/" + encodeURIComponent(state.namespace) + "/sessions");
    const rows = list.items.map((s) => {
      const tr = document.createElement("tr");
      const name = s.metadata.name;
      const phase = (s.status && s.status.phase) || "Pending";
      tr.dataset.session = name;
      const cells = [name, phase, s.metadata.creationTimestamp || ""].map((text) => { const td = document.createElement("td"); td.textContent = text; return td; });
      cells[1].className = "phase phase-" + phase;
      const actions = document.createElement("td");
      actions.append(
        button("Open", () => { location.hash = "#/term/" + encodeURIComponent(state.namespace) + "/" + encodeURIComponent(name); }),
        button("Delete", () => removeSession(name), "danger"),
      );
      tr.append(...cells, actions);
      return tr;
    });
    $("sessions").replaceChildren(...rows);
    showError("");
  }

  async function removeSession(name) {
    if (!confirm("Delete session " + name + "?")) return;
    await api("DELETE", "/namespaces/" + encodeURIComponent(state.namespace) + "/sessions/" + encodeURIComponent(name)).catch((e) => showError(e.message));
    await loadSessions().catch((e) => showError(e.message));
  }

  function closeTerminal() {
    if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
    if (state.term) { state.term.dispose(); state.term = null; }
    window.removeEventListener("resize", onWindowResize);
  }

  function onWindowResize() { if (state.fit && state.role === "rw") requestFit(); }

  function requestFit() {
    const dims = state.fit.proposeDimensions();
    if (dims && dims.cols > 0 && dims.rows > 0 && state.socket && state.socket.readyState === 1) {
      state.socket.send(JSON.stringify({ type: "resize", cols: dims.cols, rows: dims.rows }));
    }
  }

  function openTerminal(namespace, name, readOnly) {
    closeTerminal();
    show("terminal");
    $("term-title").textContent = namespace + "/" + name;
    $("term-role").textContent = "";
    $("term-state").textContent = "connecting…";
    $("share-link").hidden = true;
    const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 1000, fontSize: 14 });
    const fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open($("terminal"));
    state.term = term; state.fit = fit; state.role = "ro"; state.waiting = false;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + location.host + "/api/v1/namespaces/" + encodeURIComponent(namespace) + "/sessions/" + encodeURIComponent(name) + "/terminal" + (readOnly ? "?mode=view" : "");
    const socket = new WebSocket(url, ["agentbox.v1", "agentbox.bearer." + state.token]);
    socket.binaryType = "arraybuffer";
    state.socket = socket;
    const encoder = new TextEncoder();
    term.onData((data) => { if (state.role === "rw" && socket.readyState === 1) socket.send(encoder.encode(data)); });
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") { term.write(new Uint8Array(event.data)); return; }
      const message = JSON.parse(event.data);
      if (message.type === "hello") {
        state.role = message.role;
        $("term-role").textContent = message.role === "rw" ? "read-write" : "read-only";
        term.options.disableStdin = message.role !== "rw";
        if (message.role === "rw") requestFit();
      } else if (message.type === "snapshot") {
        term.reset();
        term.resize(message.cols, message.rows);
        term.write(message.data);
        if (!state.waiting) $("term-state").textContent = "live";
      } else if (message.type === "resize") {
        term.resize(message.cols, message.rows);
      } else if (message.type === "upstream") {
        state.waiting = message.state === "waiting";
        $("term-state").textContent = message.state === "attached" ? "live"
          : message.state === "waiting" ? "starting: the terminal opens as soon as the agent runs"
          : message.state + (message.exitCode !== undefined ? " (exit " + message.exitCode + ")" : "");
      }
    };
    socket.onclose = (event) => {
      $("term-state").textContent = "disconnected" + (event.reason ? ": " + event.reason : "");
      if (state.socket === socket && event.code !== 1000) {
        state.socket = null;
        setTimeout(() => { if (location.hash.includes(encodeURIComponent(name))) openTerminal(namespace, name, readOnly); }, 2000);
      }
    };
    socket.onerror = () => showError("the terminal connection failed; check that you may open this session's terminal");
    window.addEventListener("resize", onWindowResize);
    term.focus();
  }

  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    state.namespace = $("namespace").value.trim() || "default";
    try {
      const me = await api("GET", "/whoami");
      sessionStorage.setItem("agentbox.token", state.token);
      sessionStorage.setItem("agentbox.namespace", state.namespace);
      $("whoami").textContent = me.username;
      showError("");
      route();
    } catch (e) {
      state.token = "";
      showError(e.message);
    }
  });

  $("create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { template: $("template").value };
    const name = $("new-name").value.trim();
    if (name) body.name = name;
    try {
      await api("POST", "/namespaces/" + encodeURIComponent(state.namespace) + "/sessions", body);
      $("new-name").value = "";
      await loadSessions();
    } catch (e) { showError(e.message); }
  });

  $("share").addEventListener("click", () => {
    const link = location.origin + "/ui/" + location.hash.replace("#/term/", "#/view/");
    const field = $("share-link");
    field.value = link;
    field.hidden = false;
    field.select();
    if (navigator.clipboard) navigator.clipboard.writeText(link).catch(() => undefined);
  });

  $("sign-out").addEventListener("click", () => signOut());
  window.addEventListener("hashchange", route);
  if (state.token) api("GET", "/whoami").then((me) => { $("whoami").textContent = me.username; }).catch(() => undefined);
  route();
})();
`;
