/*
 * ps-launcher: starts, signals and reaps the simulated processes on the engine's behalf.
 *
 * Why a program of its own: the engine is a Node process of 150-400 MB, and Node can only fork() it
 * (libuv), which copies its page tables: measured on the build host, 1.9 ms of the engine's CPU per
 * child at 10,000 children, 19 of the 25 s of a cold start. libuv also calls waitpid() once for every
 * live child on each SIGCHLD, so under churn the cost of an exit grows with the number of children.
 * This launcher is ~1 MB, starts each child with posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK), no
 * page-table copy) and reaps with waitpid(-1), whatever the number of children.
 *
 * Protocol (all integers little-endian, on the launcher's stdin and stdout, which are pipes):
 *   request  = u32 length, then `length` bytes:
 *     'S' u32 id u16 argc u16 envc, then NUL-terminated strings: executable, argv[0..argc-1],
 *         env[0..envc-1] ("KEY=value"). Starts a child in a session (and process group) of its own,
 *         stdin/stdout/stderr on /dev/null, signal mask empty, signals 1-31 at their default (glibc
 *         leaves its two internal real-time signals, 32 and 33, ignored).
 *     'K' u32 pid u32 signal u8 group. Sends `signal` to the child (group = 0) or to its process group
 *         (group = 1), only while the child has not been reaped: a recycled PID is never signalled.
 *   event    = 16 bytes: u32 type, u32 a, u32 b, u32 c:
 *     'P' id pid 0         the child of request `id` runs: its exec is done, /proc/PID/cmdline holds
 *                          its argv (see wait_for_argv);
 *     'F' id errno 0       request `id` could not start (posix_spawn's error: EAGAIN, ENOENT, ...);
 *     'X' pid how value    a child was reaped: how = 0 exited with code `value`, 1 killed by signal `value`.
 * The engine is the launcher's parent (argv[1] is its PID): when it dies, the kernel kills the launcher
 * (PR_SET_PDEATHSIG), and each child's own parent-death signal then kills the children. When its stdin
 * ends (the engine closed it), the launcher SIGKILLs the process groups of the children still alive,
 * reaps them, reports them and exits 0. Exit codes: 1 = parent gone at start, 2 = bad usage or a
 * malformed request (the engine's fault; nothing more can be trusted), 3 = an I/O error on its pipes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A request larger than this is malformed: the engine refuses long command lines at its door. */
#define MAX_REQUEST (8u << 20)
#define MAX_STRINGS 65536u

static void die(int code, const char *what) {
  (void)!write(2, "ps-launcher: ", 13);
  (void)!write(2, what, strlen(what));
  (void)!write(2, "\n", 1);
  _exit(code);
}

/* ---- The children not yet reaped: an open-addressing set of PIDs (0 = empty, -1 = removed). ---- */

static int32_t *live;
static size_t live_capacity; /* a power of two */
static size_t live_count, live_used;

static size_t slot_of(int32_t pid) { return ((uint32_t)pid * 2654435761u) & (live_capacity - 1); }

static int live_has(int32_t pid) {
  for (size_t i = slot_of(pid);; i = (i + 1) & (live_capacity - 1)) {
    if (live[i] == pid) return 1;
    if (live[i] == 0) return 0;
  }
}

static void live_grow(void);

static void live_add(int32_t pid) {
  if ((live_used + 1) * 2 > live_capacity) live_grow();
  size_t i = slot_of(pid);
  while (live[i] != 0 && live[i] != -1) i = (i + 1) & (live_capacity - 1);
  if (live[i] == 0) live_used++;
  live[i] = pid;
  live_count++;
}

static void live_remove(int32_t pid) {
  for (size_t i = slot_of(pid);; i = (i + 1) & (live_capacity - 1)) {
    if (live[i] == pid) {
      live[i] = -1;
      live_count--;
      return;
    }
    if (live[i] == 0) return;
  }
}

static void live_grow(void) {
  int32_t *old = live;
  size_t old_capacity = live_capacity;
  /* Grows only when live children fill half of it; removed slots are dropped on the way. */
  live_capacity = live_count * 4 > old_capacity ? old_capacity * 2 : old_capacity;
  if (live_capacity < 1024) live_capacity = 1024;
  live = calloc(live_capacity, sizeof *live);
  if (live == NULL) die(3, "out of memory");
  live_count = live_used = 0;
  for (size_t i = 0; i < old_capacity; i++)
    if (old[i] > 0) live_add(old[i]);
  free(old);
}

/* ---- Events to the engine: buffered, written whole (a pipe write of 16 bytes is atomic). ---- */

static unsigned char out[16 * 1024];
static size_t out_length;

static void flush_events(void) {
  size_t done = 0;
  while (done < out_length) {
    ssize_t n = write(1, out + done, out_length - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      die(3, "cannot write to the engine");
    }
    done += (size_t)n;
  }
  out_length = 0;
}

static void put_u32(unsigned char *at, uint32_t value) {
  at[0] = value & 0xff;
  at[1] = (value >> 8) & 0xff;
  at[2] = (value >> 16) & 0xff;
  at[3] = (value >> 24) & 0xff;
}

static uint32_t get_u32(const unsigned char *at) {
  return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static void event(char type, uint32_t a, uint32_t b, uint32_t c) {
  if (out_length + 16 > sizeof out) flush_events();
  put_u32(out + out_length, (uint32_t)type);
  put_u32(out + out_length + 4, a);
  put_u32(out + out_length + 8, b);
  put_u32(out + out_length + 12, c);
  out_length += 16;
}

/* ---- Requests ---- */

static posix_spawnattr_t attributes;
static posix_spawn_file_actions_t actions;
/* the strings, then room for the NULLs that end argv and envp */
static char *strings[MAX_STRINGS + 2];

/*
 * posix_spawn returns once the child's exec has replaced its memory; the kernel then still sets the
 * child's name and argv. Waits until /proc/PID/cmdline holds argv, so that whoever reads the process
 * once told it runs sees its own name and command line (a sampler that read it in between cached an
 * empty command line as its identity). Bounded at ~100 ms: a child that dies inside exec never gets
 * argv, and the engine then learns of its exit.
 */
static void wait_for_argv(pid_t pid) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  for (int attempt = 0; attempt < 2000; attempt++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char byte;
    ssize_t n = read(fd, &byte, 1);
    close(fd);
    if (n != 0) return;
    if (attempt < 20) {
      sched_yield();
    } else {
      struct timespec pause = {0, 50 * 1000};
      nanosleep(&pause, NULL);
    }
  }
}

static void spawn_request(const unsigned char *body, size_t length) {
  if (length < 8) die(2, "short spawn request");
  uint32_t id = get_u32(body);
  size_t argc = (size_t)body[4] | (size_t)body[5] << 8;
  size_t envc = (size_t)body[6] | (size_t)body[7] << 8;
  size_t count = 1 + argc + envc;
  if (argc == 0 || count > MAX_STRINGS) die(2, "bad spawn request counts");
  /* The strings are NUL-terminated in place: exactly `count` of them must fill the rest. */
  char *text = (char *)body + 8;
  size_t left = length - 8, found = 0;
  while (found < count) {
    char *end = memchr(text, '\0', left);
    if (end == NULL) die(2, "spawn request strings not terminated");
    strings[found++] = text;
    left -= (size_t)(end - text) + 1;
    text = end + 1;
  }
  if (left != 0) die(2, "spawn request has trailing bytes");
  char *executable = strings[0];
  char **argv = strings + 1;
  char **envp = strings + 1 + argc;
  /* argv and envp must each end in NULL: shift env up by one to make room for argv's NULL. */
  memmove(envp + 1, envp, envc * sizeof *envp);
  argv[argc] = NULL;
  envp = envp + 1;
  envp[envc] = NULL;
  pid_t pid;
  int error = posix_spawn(&pid, executable, &actions, &attributes, argv, envp);
  if (error != 0) {
    event('F', id, (uint32_t)error, 0);
  } else {
    live_add(pid);
    wait_for_argv(pid);
    event('P', id, (uint32_t)pid, 0);
  }
  /* Each answer at once: a spawn waits for its child's exec (~0.5 ms), and the engine registers the
   * first processes of a ramp while the launcher starts the next ones. */
  flush_events();
}

static void kill_request(const unsigned char *body, size_t length) {
  if (length != 9) die(2, "bad kill request");
  int32_t pid = (int32_t)get_u32(body);
  int32_t signal = (int32_t)get_u32(body + 4);
  if (pid <= 0 || signal <= 0 || signal >= NSIG) die(2, "bad kill request values");
  /* Not yet reaped by us, so the PID is still this child's (a zombie at worst). */
  if (live_has(pid)) (void)kill(body[8] ? -pid : pid, signal);
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    live_remove(pid);
    if (WIFEXITED(status)) event('X', (uint32_t)pid, 0, (uint32_t)WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) event('X', (uint32_t)pid, 1, (uint32_t)WTERMSIG(status));
  }
}

/* Ends every child still alive: SIGKILL to each process group, then reap all of them. */
static void end_all(void) {
  for (size_t i = 0; i < live_capacity; i++)
    if (live[i] > 0) (void)kill(-live[i], SIGKILL);
  while (live_count > 0) {
    int status;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    live_remove(pid);
    if (WIFEXITED(status)) event('X', (uint32_t)pid, 0, (uint32_t)WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) event('X', (uint32_t)pid, 1, (uint32_t)WTERMSIG(status));
  }
}

int main(int argc, char **argv) {
  char *end;
  if (argc != 2) die(2, "usage: ps-launcher ENGINE_PID");
  errno = 0;
  long parent = strtol(argv[1], &end, 10);
  if (errno != 0 || *end != '\0' || parent <= 0 || parent > INT_MAX) die(2, "ENGINE_PID must be a pid");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != (pid_t)parent) return 1;
  prctl(PR_SET_NAME, "ps-launcher");
  signal(SIGPIPE, SIG_IGN);

  sigset_t child_signal, empty, all;
  sigemptyset(&child_signal);
  sigaddset(&child_signal, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &child_signal, NULL) != 0) die(3, "cannot block SIGCHLD");
  int children = signalfd(-1, &child_signal, SFD_CLOEXEC | SFD_NONBLOCK);
  if (children < 0) die(3, "cannot open a signalfd");

  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  /* Nothing else of ours reaches a child: every other fd is close-on-exec. */
  for (int fd = 3; fd < 1024; fd++)
    if (fd != children) (void)fcntl(fd, F_SETFD, FD_CLOEXEC);

  live_capacity = 0;
  live_grow();
  size_t capacity = 64 * 1024, length = 0;
  unsigned char *in = malloc(capacity);
  if (in == NULL) die(3, "out of memory");
  int open_input = 1;
  while (open_input) {
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = children, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die(3, "poll failed");
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(children, &info, sizeof info) == sizeof info) {
      }
      reap();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (length == capacity) {
        capacity *= 2;
        unsigned char *bigger = realloc(in, capacity);
        if (bigger == NULL) die(3, "out of memory");
        in = bigger;
      }
      ssize_t n = read(0, in + length, capacity - length);
      if (n < 0 && errno != EINTR && errno != EAGAIN) die(3, "cannot read from the engine");
      if (n == 0) open_input = 0;
      if (n > 0) length += (size_t)n;
      size_t at = 0;
      while (length - at >= 4) {
        uint32_t size = get_u32(in + at);
        if (size == 0 || size > MAX_REQUEST) die(2, "bad request length");
        if (length - at - 4 < size) {
          if (size + 4 > capacity) {
            while (capacity < size + 4) capacity *= 2;
            unsigned char *bigger = realloc(in, capacity);
            if (bigger == NULL) die(3, "out of memory");
            in = bigger;
          }
          break;
        }
        const unsigned char *body = in + at + 4;
        if (body[0] == 'S') spawn_request(body + 1, size - 1);
        else if (body[0] == 'K') kill_request(body + 1, size - 1);
        else die(2, "unknown request");
        at += 4 + size;
      }
      memmove(in, in + at, length - at);
      length -= at;
    }
    flush_events();
  }
  end_all();
  flush_events();
  return 0;
}
