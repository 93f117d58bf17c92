/*
 * agentbox pause: the process that holds a pod sandbox's namespaces open.
 *
 * As PID 1 of the sandbox it must (a) never exit until the runtime asks it to,
 * (b) exit cleanly on SIGINT/SIGTERM, and (c) reap any zombie re-parented to it,
 * since nothing else in a shared PID namespace would.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "agentbox-pause 1.0"

static volatile sig_atomic_t stop_signal = 0;

static void on_stop(int sig) { stop_signal = sig; }

/* Reaping happens in the main loop, not here: the handler only exists so that
 * SIGCHLD wakes sigsuspend() instead of being discarded by default. */
static void on_child(int sig) { (void)sig; }

static int install(int sig, void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_NOCLDSTOP;
  return sigaction(sig, &sa, NULL);
}

static void reap_all(void) {
  for (;;) {
    pid_t pid = waitpid(-1, NULL, WNOHANG);
    if (pid > 0) continue;
    if (pid < 0 && errno == EINTR) continue;
    return; /* 0: children left but none exited; -1/ECHILD: no children */
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    puts(VERSION);
    return 0;
  }
  if (getpid() != 1) {
    fprintf(stderr, "%s: warning: not running as PID 1, zombies of other processes are not mine to reap\n", VERSION);
  }
  if (install(SIGINT, on_stop) != 0 || install(SIGTERM, on_stop) != 0 || install(SIGCHLD, on_child) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  /* Signals stay blocked except inside sigsuspend(), so one that arrives
   * between the loop test and the wait is delivered there, not lost. */
  sigset_t blocked, waiting;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &blocked, &waiting) != 0) {
    perror("pause: sigprocmask");
    return 1;
  }
  for (;;) {
    reap_all();
    if (stop_signal) break;
    sigsuspend(&waiting);
  }
  fprintf(stderr, "%s: shutting down on signal %d\n", VERSION, (int)stop_signal);
  return 0;
}
