// The --help texts: what each command does, its options, and an example a person can paste.
const GLOBAL = `Global options:
  -s, --server URL       session API base URL (env AGENTBOX_URL), e.g. https://agentbox.example.com
  -n, --namespace NS     namespace of the sessions (env AGENTBOX_NAMESPACE; default "default")
      --token-file PATH  read the bearer token from a file instead of env AGENTBOX_TOKEN
      --ca-file PATH     trust this CA certificate (PEM) for the server (env AGENTBOX_CA_FILE)
  -h, --help             show help

The token is a Kubernetes service-account token issued for the session API's audience
(kubectl create token <serviceaccount> --audience agentbox-session-api), an OIDC ID token, or a
development static token. It is read from AGENTBOX_TOKEN (or --token-file) only: never pass it
on the command line.`;

export const HELP: Record<string, string> = {
  main: `agentbox: run coding agents in sandboxed Kubernetes pods and attach to them.

Usage: agentbox <command> [options]

Commands:
  run        create a Batch session, stream its output, exit with the agent's exit code
  attach     attach this terminal to a session, running or starting (detach with Ctrl-])
  ls         list sessions
  logs       print a session's output
  rm         delete sessions
  templates  list the AgentTemplates sessions can start from

Run "agentbox <command> --help" for a command's options.

${GLOBAL}`,

  run: `Usage: agentbox run [options] [--] [COMMAND [ARG...]]

Creates a Batch session from a template (--template) or an image (--image), prints progress
while it starts (to stderr), streams the agent's output (to stdout), and exits with the agent's
exit code. The session is deleted afterwards unless --keep. Works without a terminal (CI).

Options:
  -t, --template NAME    AgentTemplate to start from (see "agentbox templates")
  -i, --image IMAGE      agent image, when not using a template (or to override one)
      --name NAME        session name (default run-<random>)
  -e, --env NAME=VALUE   environment variable for the agent (repeatable); never a secret:
                         credentials are declared in templates and reach the agent as stubs
      --timeout DURATION give up after this long, e.g. 90s, 30m, 2h (default: no limit);
                         the session is deleted (unless --keep) and the exit code is 124
      --keep             keep the session after it finished
  -q, --quiet            no progress messages on stderr

Exit codes: the agent's own code when it ran; 124 timeout or expired; 125 the session could
not start; 64 bad usage; 66 not found; 69 server unreachable; 77 not signed in or not
allowed; 78 missing configuration; 130 interrupted.

Example:
  AGENTBOX_URL=https://agentbox.example.com AGENTBOX_TOKEN=$(cat token) \\
    agentbox run -t shell-batch -- bash -c 'npm ci && npm test'

${GLOBAL}`,

  attach: `Usage: agentbox attach [options] NAME

Attaches this terminal to the session's terminal: you first see the current screen, then the
live output; what you type goes to the agent (unless you may only watch). The terminal is put
in raw mode and its size follows your window. Detach with Ctrl-] (the session keeps running).
A session that is still starting can be attached at once: you are told it is starting, and the
terminal follows the moment the agent runs.
Exits with the agent's exit code if the agent ends while attached.

Options:
      --view             watch read-only, even if you may type

${GLOBAL}`,

  ls: `Usage: agentbox ls [options]

Lists the sessions in the namespace with their phase, mode, template, pod and age.

Options:
  -o, --output FORMAT    table (default), json or name

${GLOBAL}`,

  logs: `Usage: agentbox logs [options] NAME

Prints the agent's output so far.

Options:
  -f, --follow           keep printing new output until the agent ends

${GLOBAL}`,

  rm: `Usage: agentbox rm [options] NAME [NAME...]

Deletes sessions; their pods, stub secrets and workspaces go with them.

${GLOBAL}`,

  templates: `Usage: agentbox templates [options]

Lists the AgentTemplates in the namespace: image, mode, credentials (names only) and locks.

Options:
  -o, --output FORMAT    table (default), json or name

${GLOBAL}`,
};
