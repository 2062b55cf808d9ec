/*
 * Reference reader for the benchmark: reads the same /proc files as the simulator's sampler
 * (statm, io, the fd count, stat; status too with `status`, as the sampler does when it exports
 * context switches) for the same PIDs, parses the same fields, and reports the CPU time one full pass
 * costs. It is the floor the Node sampler is held against (within 3x).
 *
 * Usage: reader PIDFILE PASSES [status]   (PIDFILE: one PID per line)
 * Prints one line per pass: "<cpu_us> <wall_us> <processes read>". A process counts as read only when
 * every one of its files was: the caller checks that count, since a pass that fails early is cheap.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char buf[16384];

/* Reads a whole small file into buf; returns its length, or -1 when the process is gone. */
static ssize_t slurp(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  return n;
}

/* Value after "\nKey:" (or at the start), as the Node parsers look keys up. */
static unsigned long long field(const char *text, const char *key) {
  size_t len = strlen(key);
  const char *at = strncmp(text, key, len) == 0 ? text : NULL;
  if (!at) {
    char needle[64];
    snprintf(needle, sizeof needle, "\n%s", key);
    at = strstr(text, needle);
    if (!at) return 0;
    at++;
  }
  return strtoull(at + len, NULL, 10);
}

static double now_us(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Sum of the values read, printed at the end so the compiler cannot drop the parsing. */
static unsigned long long checksum;

static int with_status;

static int read_process(int pid) {
  char path[64];
  unsigned long long size = 0, resident = 0;
  snprintf(path, sizeof path, "/proc/%d/statm", pid);
  if (slurp(path) < 0) return 0;
  sscanf(buf, "%llu %llu", &size, &resident);
  checksum += size + resident;

  if (with_status) {
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (slurp(path) < 0) return 0;
    checksum += field(buf, "voluntary_ctxt_switches:") + field(buf, "nonvoluntary_ctxt_switches:");
  }

  snprintf(path, sizeof path, "/proc/%d/io", pid);
  if (slurp(path) < 0) return 0;
  checksum += field(buf, "rchar:") + field(buf, "wchar:");

  /* Linux >= 6.2 reports the number of open fds as the size of /proc/PID/fd, as the sampler uses;
   * before it the size is 0 and the sampler lists the directory, so this does too (src/proc/fd-count.ts). */
  struct stat st;
  snprintf(path, sizeof path, "/proc/%d/fd", pid);
  if (stat(path, &st) < 0) return 0;
  if (st.st_size > 0) {
    checksum += (unsigned long long)st.st_size;
  } else {
    DIR *dir = opendir(path);
    if (!dir) return 0;
    unsigned long long entries = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
      if (entry->d_name[0] != '.') entries++;
    closedir(dir);
    checksum += entries;
  }

  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (slurp(path) < 0) return 0;
  const char *p = strrchr(buf, ')');
  if (!p) return 0;
  p += 2;
  /* fields 3.. after the comm; keep 4, 10, 12, 14, 15, 20, 22, 23, 42 */
  for (int f = 3; f <= 42 && *p; f++) {
    char *end;
    unsigned long long v = f == 3 ? (unsigned long long)*p : strtoull(p, &end, 10);
    if (f == 4 || f == 10 || f == 12 || f == 14 || f == 15 || f == 20 || f == 22 || f == 23 || f == 42)
      checksum += v;
    p = strchr(p, ' ');
    if (!p) break;
    p++;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "status") != 0)) {
    fprintf(stderr, "usage: %s PIDFILE PASSES [status]\n", argv[0]);
    return 2;
  }
  with_status = argc == 4;
  FILE *in = fopen(argv[1], "r");
  if (!in) {
    perror(argv[1]);
    return 2;
  }
  int cap = 1024, count = 0;
  int *pids = malloc(cap * sizeof *pids);
  int pid;
  while (fscanf(in, "%d", &pid) == 1) {
    if (count == cap) pids = realloc(pids, (cap *= 2) * sizeof *pids);
    pids[count++] = pid;
  }
  fclose(in);
  int passes = atoi(argv[2]);
  for (int pass = 0; pass < passes; pass++) {
    double cpu = now_us(CLOCK_PROCESS_CPUTIME_ID), wall = now_us(CLOCK_MONOTONIC);
    int read = 0;
    for (int i = 0; i < count; i++) read += read_process(pids[i]);
    printf("%.0f %.0f %d\n", now_us(CLOCK_PROCESS_CPUTIME_ID) - cpu, now_us(CLOCK_MONOTONIC) - wall, read);
  }
  fprintf(stderr, "checksum %llu\n", checksum);
  free(pids);
  return 0;
}
