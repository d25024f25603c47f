/*
 * The C reference: the same nonblocking connect with poll(2), nothing else
 * between the program and the kernel. What it measures is the limit of this
 * machine; every nbconnect figure is a ratio against it, taken in the same run.
 *
 *   reference latency    PORT N
 *   reference throughput PORT N INFLIGHT
 *   reference refused    PORT N INFLIGHT
 *   reference timeout    PORT COUNT DEADLINE_MS
 *   reference memory     PORT COUNT
 * prints one JSON object of figures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

/* socket, fcntl x2, connect; returns the fd, with *done set when connect() gave the verdict. */
static int start(int *done, int *err) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  struct linger rst = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
  int r = connect(fd, (struct sockaddr *)&target, sizeof target);
  *done = r == 0 || (errno != EINPROGRESS && errno != EINTR);
  *err = r == 0 ? 0 : errno;
  return fd;
}

static int so_error(int fd) {
  int e = 0;
  socklen_t len = sizeof e;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
  return e;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void print_percentiles(double *v, int n) {
  qsort(v, n, sizeof *v, cmp);
  printf("\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f", v[n / 2], v[(int)(n * 0.99)],
         v[(int)(n * 0.999)], v[n - 1]);
}

/* Keeps `inflight` connects going until n have finished. */
static void run_pool(int n, int inflight, double *lat, int *failures) {
  struct pollfd *pfds = calloc(inflight, sizeof *pfds);
  double *began = calloc(inflight, sizeof *began);
  int started = 0, finished = 0, active = 0;
  *failures = 0;
  while (finished < n) {
    while (active < inflight && started < n) {
      int done, err;
      double t = now_us();
      int fd = start(&done, &err);
      started++;
      if (done) {
        if (err) (*failures)++;
        close(fd);
        lat[finished++] = now_us() - t;
        continue;
      }
      pfds[active] = (struct pollfd){fd, POLLOUT, 0};
      began[active++] = t;
    }
    if (active == 0) continue;
    poll(pfds, active, -1);
    for (int i = active - 1; i >= 0; i--) {
      if (!pfds[i].revents) continue;
      if (so_error(pfds[i].fd)) (*failures)++;
      close(pfds[i].fd);
      lat[finished++] = now_us() - began[i];
      pfds[i] = pfds[--active];
      began[i] = began[active];
    }
  }
  free(pfds);
  free(began);
}

static long rss_kb(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  target.sin_family = AF_INET;
  target.sin_port = htons(atoi(argv[2]));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char *scenario = argv[1];
  int n = atoi(argv[3]);

  if (!strcmp(scenario, "latency") || !strcmp(scenario, "throughput") || !strcmp(scenario, "refused")) {
    int inflight = argc > 4 ? atoi(argv[4]) : 1;
    double *lat = calloc(n, sizeof *lat);
    int failures;
    double c0 = cpu_us(), t0 = now_us();
    run_pool(n, inflight, lat, &failures);
    double elapsed = now_us() - t0, cpu = cpu_us() - c0;
    printf("{\"n\":%d,\"failures\":%d,\"perSec\":%.0f,\"cpuUsPerConnect\":%.2f,", n, failures,
           n / elapsed * 1e6, cpu / n);
    print_percentiles(lat, n);
    printf("}\n");
    return 0;
  }

  if (!strcmp(scenario, "timeout")) {
    double deadline = atof(argv[4]) * 1000;
    struct pollfd *pfds = calloc(n, sizeof *pfds);
    double *began = calloc(n, sizeof *began), *over = calloc(n, sizeof *over);
    int active = 0, finished = 0;
    for (int i = 0; i < n; i++) {
      int done, err;
      began[active] = now_us();
      pfds[active++] = (struct pollfd){start(&done, &err), POLLOUT, 0};
    }
    while (active > 0) {
      double t = now_us(), nearest = 1e18;
      for (int i = 0; i < active; i++)
        if (began[i] + deadline < nearest) nearest = began[i] + deadline;
      int ms = nearest > t ? (int)((nearest - t + 999) / 1000) : 0;
      poll(pfds, active, ms);
      t = now_us();
      for (int i = active - 1; i >= 0; i--) {
        if (!pfds[i].revents && t < began[i] + deadline) continue;
        close(pfds[i].fd);
        over[finished++] = (t - began[i] - deadline) / 1000;
        pfds[i] = pfds[--active];
        began[i] = began[active];
      }
    }
    printf("{\"n\":%d,", n);
    print_percentiles(over, finished);
    printf("}\n");
    return 0;
  }

  if (!strcmp(scenario, "memory")) {
    long before = rss_kb();
    struct pollfd *pfds = calloc(n, sizeof *pfds);
    for (int i = 0; i < n; i++) {
      int done, err;
      pfds[i] = (struct pollfd){start(&done, &err), POLLOUT, 0};
    }
    poll(pfds, n, 100);
    long after = rss_kb();
    printf("{\"n\":%d,\"rssBytesPerPending\":%.1f,\"heapBytesPerPending\":0}\n", n, (after - before) * 1024.0 / n);
    return 0;
  }
  return 2;
}
