// The web UI's one page. No framework: app.js fills it in.
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>agentbox</title>
<link rel="stylesheet" href="/ui/vendor/xterm.css">
<style>
  :root { color-scheme: dark; font-family: system-ui, sans-serif; }
  body { margin: 0; background: #111; color: #ddd; display: flex; flex-direction: column; height: 100vh; }
  header { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; background: #1c1c1c; border-bottom: 1px solid #333; }
  header h1 { font-size: 1rem; margin: 0; }
  header .grow { flex: 1; }
  main { flex: 1; display: flex; flex-direction: column; min-height: 0; padding: 1rem; gap: 1rem; }
  [hidden] { display: none !important; }
  input, select, button { font: inherit; background: #222; color: #eee; border: 1px solid #444; border-radius: 4px; padding: .3rem .6rem; }
  button { cursor: pointer; }
  button.danger { border-color: #a33; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #2a2a2a; }
  .phase-Running { color: #6c6; } .phase-Failed, .phase-Expired { color: #e66; } .phase-Pending, .phase-Starting { color: #dd6; }
  #error { color: #f88; min-height: 1.2em; }
  #terminal-view { flex: 1; display: flex; flex-direction: column; min-height: 0; gap: .5rem; }
  #terminal { flex: 1; min-height: 0; background: #000; padding: 4px; }
  .bar { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
  #share-link { width: 40rem; max-width: 100%; }
</style>
</head>
<body>
<header>
  <h1>agentbox</h1>
  <span class="grow"></span>
  <span id="whoami"></span>
  <button id="sign-out" hidden>Sign out</button>
</header>
<main>
  <div id="error" role="alert"></div>
  <form id="sign-in" class="bar" hidden>
    <label>Token <input id="token" type="password" autocomplete="off" required size="40"></label>
    <label>Namespace <input id="namespace" value="default" required size="16"></label>
    <button type="submit">Sign in</button>
  </form>
  <section id="sessions-view" hidden>
    <form id="create" class="bar">
      <label>Template <select id="template"></select></label>
      <label>Name <input id="new-name" placeholder="(generated)" size="20"></label>
      <button type="submit">Create session</button>
    </form>
    <table>
      <thead><tr><th>Session</th><th>Phase</th><th>Created</th><th></th></tr></thead>
      <tbody id="sessions"></tbody>
    </table>
  </section>
  <section id="terminal-view" hidden>
    <div class="bar">
      <a href="#/" id="back">&larr; Sessions</a>
      <strong id="term-title"></strong>
      <span id="term-role"></span>
      <span id="term-state"></span>
      <span class="grow"></span>
      <button id="share">Share read-only</button>
      <input id="share-link" readonly hidden>
    </div>
    <div id="terminal"></div>
  </section>
</main>
<script src="/ui/vendor/xterm.js"></script>
<script src="/ui/vendor/addon-fit.js"></script>
<script src="/ui/app.js"></script>
</body>
</html>
`;
