/*
 * ps-worker: the program every simulated process runs.
 *
 * One real OS process that holds the CPU share, resident set size, thread count and open-fd count its
 * slot of the engine's control file asks for, and follows changes while it runs. It never forks and
 * never interprets argv (argv is display only; the kernel takes comm from the name it was exec'd by).
 *
 * Idle cost (1 thread, 3 fds, rss 0, cpu 0), glibc 2.36 static build, Linux 6.18 x86-64:
 *   RSS 0.76 MB (statm), of which 0.72 MB is the binary's own text, shared between workers; PSS 0.76 MB
 *   for a worker alone, 44 kB each among 500 idle workers (the dynamic build: RSS 1.38 MB, PSS 95 kB).
 *   Per worker among 500: ~57 kB anonymous, ~44 kB page tables, 16 kB kernel stack, ~18 kB slab.
 *   CPU: 0 ticks over 10 s, for one idle worker and for 500 together. Each extra thread adds ~4 kB RSS.
 *
 * Protocol: see control-table.ts. Slot = 8 little-endian uint32: generation, cpu_permille, rss_kib,
 * threads, fds, flags, reserved, reserved. The engine pwrites a slot, then sends SIGUSR1.
 * Environment: PSIM_CONTROL_FILE, PSIM_SLOT, PSIM_PARENT_PID, optional PSIM_NAME.
 * Quirks (the edge-cases profile; see schema.ts `quirks`), all optional:
 *   PSIM_COMM_HEX   the kernel name (comm) as hex bytes: spaces, parentheses, a slash, non-UTF-8;
 *   PSIM_UID/GID    run as this user (the engine is root): set after the control file is mapped;
 *   PSIM_QUIRKS     comma-separated: zombie (fork one child that exits at once and stays unreaped
 *                   until SIGTERM), stopped (stop itself once set up), deleted-exe (unlink the file it
 *                   was exec'd from);
 *   PSIM_PENDING_SIGNALS  comma-separated signal numbers blocked in every thread and sent to the
 *                   process itself once set up: they stay pending (status ShdPnd).
 * Exit codes: 1 = parent already gone at start, 2 = bad environment or unreadable control file,
 * 3 = a quirk could not be set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#define SLOT_BYTES 32
#define TICK_NS 100000000LL
#define NS_PER_S 1000000000LL
/* A worker with cpu 0 wakes only on SIGUSR1; this timeout is a safety net against a lost signal. */
#define IDLE_TIMEOUT_S 60
/* Sanity caps, far above what the engine asks for; they stop a corrupt slot from exhausting the host. */
#define MAX_THREADS 100000u
#define MAX_FDS 1048576u

struct targets {
  uint32_t cpu_permille, rss_kib, threads, fds;
};

static const volatile uint32_t *slot_words;
static long page_size;

/* write(2), not stdio: leaving stdio out of the static binary keeps its resident text small. */
static void die(int code, const char *what, const char *value) {
  struct iovec parts[5] = {{(void *)"ps-worker: ", 11}, {(void *)what, strlen(what)}};
  int count = 2;
  if (value != NULL) {
    parts[count++] = (struct iovec){(void *)": ", 2};
    parts[count++] = (struct iovec){(void *)value, strlen(value)};
  }
  parts[count++] = (struct iovec){(void *)"\n", 1};
  ssize_t ignored = writev(STDERR_FILENO, parts, count);
  (void)ignored;
  _exit(code);
}

static int64_t now_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Strict decimal parse; anything else (empty, sign, junk, overflow) is rejected. */
static int parse_uint(const char *text, unsigned long max, unsigned long *out) {
  if (text == NULL || *text < '0' || *text > '9') return -1;
  errno = 0;
  char *end;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || *end != '\0' || value > max) return -1;
  *out = value;
  return 0;
}

/* ---------- control slot ---------- */

/*
 * The engine's pwrite is not atomic against a reader of the shared mapping, so read until two
 * consecutive copies agree; a torn read lasts nanoseconds.
 */
static struct targets read_slot(void) {
  uint32_t a[8], b[8];
  for (int attempt = 0; attempt < 16; attempt++) {
    for (int i = 0; i < 8; i++) a[i] = slot_words[i];
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    for (int i = 0; i < 8; i++) b[i] = slot_words[i];
    if (memcmp(a, b, sizeof a) == 0) break;
  }
  struct targets t = {b[1], b[2], b[3], b[4]};
  if (t.cpu_permille > 1000) t.cpu_permille = 1000;
  if (t.threads < 1) t.threads = 1;
  if (t.threads > MAX_THREADS) t.threads = MAX_THREADS;
  if (t.fds < 3) t.fds = 3;
  if (t.fds > MAX_FDS) t.fds = MAX_FDS;
  return t;
}

/* Maps only the page that holds our slot, read-only, and closes the file: it must not count as an fd. */
static void map_slot(const char *path, unsigned long slot) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) die(2, "cannot open PSIM_CONTROL_FILE", path);
  struct stat st;
  if (fstat(fd, &st) != 0) die(2, "cannot stat PSIM_CONTROL_FILE", path);
  off_t offset = (off_t)slot * SLOT_BYTES;
  if (st.st_size < offset + SLOT_BYTES) die(2, "PSIM_SLOT is beyond the end of PSIM_CONTROL_FILE", path);
  off_t page_offset = offset & ~((off_t)page_size - 1);
  void *map = mmap(NULL, (size_t)page_size, PROT_READ, MAP_SHARED, fd, page_offset);
  if (map == MAP_FAILED) die(2, "cannot mmap PSIM_CONTROL_FILE", path);
  close(fd);
  slot_words = (const volatile uint32_t *)((const char *)map + (offset - page_offset));
}

/* ---------- threads ---------- */

static pthread_mutex_t threads_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t threads_cv = PTHREAD_COND_INITIALIZER;
static unsigned wanted_extra; /* guarded by threads_mu */
static pthread_t *extra;
static unsigned extra_count, extra_capacity;

/* Extra threads only exist to be counted: each sleeps until the wanted count drops below its index. */
static void *idle_thread(void *arg) {
  unsigned index = (unsigned)(uintptr_t)arg;
  pthread_mutex_lock(&threads_mu);
  while (index < wanted_extra) pthread_cond_wait(&threads_cv, &threads_mu);
  pthread_mutex_unlock(&threads_mu);
  return NULL;
}

static void set_threads(unsigned total) {
  unsigned want = total - 1;
  if (want == extra_count) return;
  pthread_mutex_lock(&threads_mu);
  wanted_extra = want;
  pthread_cond_broadcast(&threads_cv);
  pthread_mutex_unlock(&threads_mu);
  while (extra_count > want) pthread_join(extra[--extra_count], NULL);
  if (want > extra_capacity) {
    pthread_t *grown = realloc(extra, want * sizeof *extra);
    if (grown == NULL) return;
    extra = grown;
    extra_capacity = want;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
  while (extra_count < want) {
    /* Out of threads (RLIMIT_NPROC, threads-max): hold what we have and retry on the next wake. */
    if (pthread_create(&extra[extra_count], &attr, idle_thread, (void *)(uintptr_t)extra_count) != 0) break;
    extra_count++;
  }
  pthread_attr_destroy(&attr);
}

/* ---------- file descriptors ---------- */

static int *held_fds;
static unsigned held_count, held_capacity;

static void raise_fd_limit(unsigned fds) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= fds) return;
  lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max >= fds ? fds : lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

/* Holds fds-3 descriptors of /dev/null beside stdio, so /proc/PID/fd lists exactly `fds` entries. */
static void set_fds(unsigned fds) {
  unsigned want = fds - 3;
  while (held_count > want) close(held_fds[--held_count]);
  if (held_count == want) return;
  if (want > held_capacity) {
    int *grown = realloc(held_fds, want * sizeof *held_fds);
    if (grown == NULL) return;
    held_fds = grown;
    held_capacity = want;
  }
  raise_fd_limit(fds);
  while (held_count < want) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break; /* EMFILE: hold what we have */
    held_fds[held_count++] = fd;
  }
}

/* ---------- memory ---------- */

static char *ballast;
static size_t ballast_len; /* bytes mapped and touched, a multiple of the page size */

/* Resident set of the whole process; the fd is closed before anything counts fds again. */
static long long resident_bytes(void) {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  /* statm: size resident shared text lib data dt, in pages */
  const char *p = strchr(buf, ' ');
  if (p == NULL || p[1] < '0' || p[1] > '9') return -1;
  return strtoll(p + 1, NULL, 10) * page_size;
}

static void resize_ballast(size_t len) {
  if (len == ballast_len) return;
  if (len == 0) {
    munmap(ballast, ballast_len);
    ballast = NULL;
    ballast_len = 0;
    return;
  }
  char *map;
  if (ballast_len == 0) {
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  } else {
    /* Growing may move the mapping; mremap moves page tables, not data. Shrinking frees the tail. */
    map = mremap(ballast, ballast_len, len, MREMAP_MAYMOVE);
  }
  if (map == MAP_FAILED) return;
  /* 4 KiB steps keep RSS close to the target; a huge page would overshoot by up to 2 MiB. */
  madvise(map, len, MADV_NOHUGEPAGE);
  /* Zero pages are shared and not resident until written, so write one non-zero byte per page. */
  for (size_t off = ballast_len; off < len; off += (size_t)page_size) map[off] = 1;
  ballast = map;
  ballast_len = len;
}

/* Brings RSS to the target using the ballast; below the floor (ballast 0) the process stays at its floor. */
static void set_rss(uint32_t rss_kib) {
  long long rss = resident_bytes();
  if (rss < 0) return;
  long long diff = (long long)rss_kib * 1024 - rss;
  long long pages = diff / page_size; /* toward zero: never overshoot by a partial page */
  long long len = (long long)ballast_len + pages * page_size;
  if (len < 0) len = 0;
  resize_ballast((size_t)len);
}

static void apply(const struct targets *t) {
  set_threads(t->threads);
  set_fds(t->fds);
  set_rss(t->rss_kib);
}

/* ---------- quirks ---------- */

static int has_quirk(const char *name) {
  const char *list = getenv("PSIM_QUIRKS");
  size_t len = strlen(name);
  for (const char *p = list; p != NULL && *p != '\0';) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n == len && memcmp(p, name, len) == 0) return 1;
    p = end ? end + 1 : NULL;
  }
  return 0;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* comm from hex bytes (the kernel keeps 15): any byte but NUL, UTF-8 or not. */
static void set_comm_hex(const char *hex) {
  char name[16] = {0};
  size_t n = 0;
  for (; hex[0] && hex[1] && n < 15; hex += 2) {
    int hi = hex_digit(hex[0]), lo = hex_digit(hex[1]);
    if (hi < 0 || lo < 0) die(3, "PSIM_COMM_HEX must be hex pairs", hex);
    name[n++] = (char)(hi * 16 + lo);
  }
  if (n == 0 || memchr(name, 0, n) != NULL) die(3, "PSIM_COMM_HEX must name 1 to 15 bytes, none of them NUL", NULL);
  prctl(PR_SET_NAME, name);
}

/* Runs as another user from now on; the parent-death signal is cleared by a uid change: arm it again. */
static void become_user(unsigned long parent) {
  unsigned long uid, gid;
  if (parse_uint(getenv("PSIM_UID"), UINT32_MAX - 1, &uid) != 0) die(3, "PSIM_UID must be a uid", getenv("PSIM_UID"));
  if (parse_uint(getenv("PSIM_GID"), UINT32_MAX - 1, &gid) != 0) die(3, "PSIM_GID must be a gid", getenv("PSIM_GID"));
  if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) die(3, "cannot change user", getenv("PSIM_UID"));
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if ((unsigned long)getppid() != parent) _exit(1);
}

static pid_t zombie = -1;

/* SIGTERM with a zombie child: reap it, then end as SIGTERM would have. */
static void on_term(int sig) {
  (void)sig;
  if (zombie > 0) waitpid(zombie, NULL, 0);
  _exit(0);
}

/* One child that exits at once and stays a zombie: this process never waits for it until SIGTERM. */
static void make_zombie(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  zombie = fork();
  if (zombie == 0) _exit(0);
  if (zombie < 0) die(3, "cannot fork the zombie child", NULL);
}

/* Signals that must reach the worker: SIGUSR1 wakes it, SIGTERM ends it; KILL, STOP and CONT cannot be held. */
static int pendable(unsigned long sig) {
  return sig >= 1 && sig < 32 && sig != SIGKILL && sig != SIGSTOP && sig != SIGCONT && sig != SIGTERM &&
         sig != SIGUSR1;
}

/* The signals of PSIM_PENDING_SIGNALS, added to `set`; an empty set without it. */
static void pending_signals(sigset_t *set) {
  sigemptyset(set);
  const char *list = getenv("PSIM_PENDING_SIGNALS");
  for (const char *p = list; p != NULL && *p != '\0';) {
    const char *end = strchr(p, ',');
    char number[8];
    size_t n = end ? (size_t)(end - p) : strlen(p);
    unsigned long sig;
    if (n == 0 || n >= sizeof number) die(3, "PSIM_PENDING_SIGNALS must be signal numbers", list);
    memcpy(number, p, n);
    number[n] = '\0';
    if (parse_uint(number, 64, &sig) != 0 || !pendable(sig)) die(3, "PSIM_PENDING_SIGNALS names a signal that cannot be held", list);
    sigaddset(set, (int)sig);
    p = end ? end + 1 : NULL;
  }
}

/* ---------- start-up and main loop ---------- */

static void close_inherited_fds(void) {
  if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
    struct rlimit lim;
    rlim_t max = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY ? lim.rlim_cur : 65536;
    for (rlim_t fd = 3; fd < max; fd++) close((int)fd);
  }
  /* The fd count is only exact if 0, 1 and 2 exist; open() takes the lowest free number. */
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0) die(2, "cannot open /dev/null", NULL);
  }
}

/* Waits for SIGUSR1 at most timeout_ns; returns 1 if it came. */
static int wait_signal(const sigset_t *set, int64_t timeout_ns) {
  if (timeout_ns <= 0) return 0;
  struct timespec ts = {(time_t)(timeout_ns / NS_PER_S), (long)(timeout_ns % NS_PER_S)};
  return sigtimedwait(set, NULL, &ts) == SIGUSR1;
}

/* Spins on user-space work until this thread's CPU time reaches `until` or the wall clock hits `deadline`. */
static void burn(int64_t until, int64_t deadline) {
  volatile uint64_t sink = 0;
  while (now_ns(CLOCK_THREAD_CPUTIME_ID) < until && now_ns(CLOCK_MONOTONIC) < deadline) {
    for (uint64_t i = 0; i < 20000; i++) sink = sink * 6364136223846793005ULL + i;
  }
}

int main(void) {
  /* SIGUSR1's default action kills: block it before anything else, threads inherit the mask. */
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Held signals are blocked as early, so that every thread inherits the mask and none takes them. */
  sigset_t held;
  pending_signals(&held);
  sigprocmask(SIG_BLOCK, &held, NULL);

  unsigned long slot, parent;
  const char *path = getenv("PSIM_CONTROL_FILE");
  if (path == NULL || *path == '\0') die(2, "PSIM_CONTROL_FILE is not set", NULL);
  if (parse_uint(getenv("PSIM_SLOT"), UINT32_MAX, &slot) != 0) die(2, "PSIM_SLOT must be a slot index", getenv("PSIM_SLOT"));
  if (parse_uint(getenv("PSIM_PARENT_PID"), INT_MAX, &parent) != 0 || parent == 0) {
    die(2, "PSIM_PARENT_PID must be a pid", getenv("PSIM_PARENT_PID"));
  }
  /* The death signal is armed only after it is set: a parent gone before that left us orphaned. */
  if ((unsigned long)getppid() != parent) return 1;

  const char *name = getenv("PSIM_NAME");
  if (name != NULL && *name != '\0') {
    const char *base = strrchr(name, '/');
    prctl(PR_SET_NAME, base ? base + 1 : name);
  }

  page_size = sysconf(_SC_PAGESIZE);
  close_inherited_fds();
  map_slot(path, slot);

  const char *comm_hex = getenv("PSIM_COMM_HEX");
  if (comm_hex != NULL && *comm_hex != '\0') set_comm_hex(comm_hex);
  if (has_quirk("deleted-exe")) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) die(3, "cannot read /proc/self/exe", NULL);
    exe[n] = '\0';
    if (unlink(exe) != 0) die(3, "cannot unlink the executable", exe);
  }
  if (getenv("PSIM_UID") != NULL) become_user(parent);
  if (has_quirk("zombie")) make_zombie();
  /* kill(), not raise(): a signal to the process, pending for all of it (ShdPnd), not for one thread. */
  for (int sig = 1; sig < 32; sig++) {
    if (sigismember(&held, sig) == 1) kill(getpid(), sig);
  }

  int64_t tick_start = now_ns(CLOCK_MONOTONIC);
  if (has_quirk("stopped")) {
    /* Hold the targets first, so a stopped process still shows its threads, fds and memory. */
    struct targets t = read_slot();
    apply(&t);
    raise(SIGSTOP);
  }
  for (;;) {
    struct targets t = read_slot();
    apply(&t);
    if (t.cpu_permille == 0) {
      wait_signal(&usr1, (int64_t)IDLE_TIMEOUT_S * NS_PER_S);
      tick_start = now_ns(CLOCK_MONOTONIC);
      continue;
    }
    int64_t tick_end = tick_start + TICK_NS;
    burn(now_ns(CLOCK_THREAD_CPUTIME_ID) + (int64_t)t.cpu_permille * (TICK_NS / 1000), tick_end);
    /* A signal mid-tick applies the new threads/fds/memory now; the CPU share changes on the next tick. */
    while (wait_signal(&usr1, tick_end - now_ns(CLOCK_MONOTONIC))) {
      t = read_slot();
      apply(&t);
    }
    int64_t now = now_ns(CLOCK_MONOTONIC);
    /* Absolute ticks keep the period exact; after a long stall start afresh instead of catching up. */
    tick_start = now - tick_end > TICK_NS ? now : tick_end;
  }
}
