/*
 * The oracle: the seeds' nonblocking connect written straight in C, with
 * every syscall printed. The conformance matrix runs it against the same
 * setup as nbconnect and compares the two traces call by call.
 *
 *   oracle family=4|6|unix addr=A port=P | path=P
 *          [wait=poll|select|epoll] [timeout=MS] [confirm=so_error|getpeername|read|reconnect]
 *          [local=A] [localport=P] [linger0=1] [nodelay=1] [syncnt=N]
 *          [usertimeout=MS] [bindnoport=1] [waitdelay=MS]
 *
 * Prints one JSON object: { "steps": [...], "errno": N, "self": bool }.
 * It is written independently of native/, on purpose: same algorithm, no
 * shared code.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static const char *arg_of(int argc, char **argv, const char *key) {
  size_t n = strlen(key);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
  return NULL;
}

static int steps_printed = 0;

static void step_begin(const char *call, const char *arg, int ret, int err) {
  printf("%s{\"call\":\"%s\"", steps_printed++ ? "," : "", call);
  if (arg) printf(",\"arg\":\"%s\"", arg);
  printf(",\"ret\":%d", ret);
  if (ret < 0) printf(",\"errno\":%d", err);
}

static void step(const char *call, const char *arg, int ret, int err) {
  step_begin(call, arg, ret, err);
  printf("}");
}

/* `field`: the names of the bits of `value` in `bits`, as a JSON array. */
struct bit_name { unsigned bit; const char *name; };
static void bits_json(const char *field, unsigned value, const struct bit_name *bits, size_t n) {
  printf(",\"%s\":[", field);
  int first = 1;
  for (size_t i = 0; i < n; i++)
    if (value & bits[i].bit) {
      printf("%s\"%s\"", first ? "" : ",", bits[i].name);
      first = 0;
    }
  printf("]");
}

static void revents_json(short r) {
  static const struct bit_name bits[] = {
      {POLLIN, "POLLIN"}, {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"},
      {POLLERR, "POLLERR"}, {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"}, {POLLRDHUP, "POLLRDHUP"}};
  bits_json("revents", (unsigned short)r, bits, sizeof bits / sizeof bits[0]);
}

static void events_json(unsigned e) {
  static const struct bit_name bits[] = {
      {EPOLLIN, "EPOLLIN"}, {EPOLLPRI, "EPOLLPRI"}, {EPOLLOUT, "EPOLLOUT"},
      {EPOLLERR, "EPOLLERR"}, {EPOLLHUP, "EPOLLHUP"}, {EPOLLRDHUP, "EPOLLRDHUP"}};
  bits_json("events", e, bits, sizeof bits / sizeof bits[0]);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fd = -1;
static int verdict = 0;
static int self_connect = 0;

static void finish_failed(int err) {
  int r = close(fd);
  step("close", NULL, r, errno);
  verdict = err;
}

static int same(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void connected(int family, int peer_known, struct sockaddr_storage *peer) {
  if (family == AF_UNIX) return;
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  int r = getsockname(fd, (struct sockaddr *)&local, &len);
  step("getsockname", NULL, r, errno);
  if (r < 0) return finish_failed(errno);
  if (!peer_known) {
    len = sizeof *peer;
    r = getpeername(fd, (struct sockaddr *)peer, &len);
    int err = errno;
    step("getpeername", NULL, r, err);
    if (r < 0) return finish_failed(err);
  }
  if (same(&local, peer)) {
    self_connect = 1;
    finish_failed(0);
  }
}

static void so_error_verdict(int family) {
  int value = 0;
  socklen_t len = sizeof value;
  int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &len);
  step_begin("getsockopt", "SO_ERROR", r, errno);
  if (r == 0) printf(",\"value\":%d", value);
  printf("}");
  if (r < 0) return finish_failed(errno);
  if (value != 0) return finish_failed(value);
  struct sockaddr_storage peer;
  connected(family, 0, &peer);
}

int main(int argc, char **argv) {
  const char *f = arg_of(argc, argv, "family");
  int family = strcmp(f, "unix") == 0 ? AF_UNIX : strcmp(f, "6") == 0 ? AF_INET6 : AF_INET;
  const char *w = arg_of(argc, argv, "wait");
  int use_select = w && strcmp(w, "select") == 0;
  int use_epoll = w && strcmp(w, "epoll") == 0;
  const char *t = arg_of(argc, argv, "timeout");
  long long deadline = t ? now_ns() + atoll(t) * 1000000LL : -1;
  const char *confirm = arg_of(argc, argv, "confirm");
  if (!confirm) confirm = "so_error";

  struct sockaddr_storage remote;
  socklen_t remote_len;
  memset(&remote, 0, sizeof remote);
  if (family == AF_UNIX) {
    struct sockaddr_un *sun = (void *)&remote;
    sun->sun_family = AF_UNIX;
    strncpy(sun->sun_path, arg_of(argc, argv, "path"), sizeof sun->sun_path - 1);
    remote_len = sizeof *sun;
  } else if (family == AF_INET) {
    struct sockaddr_in *sin = (void *)&remote;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(atoi(arg_of(argc, argv, "port")));
    inet_pton(AF_INET, arg_of(argc, argv, "addr"), &sin->sin_addr);
    remote_len = sizeof *sin;
  } else {
    struct sockaddr_in6 *sin6 = (void *)&remote;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(atoi(arg_of(argc, argv, "port")));
    inet_pton(AF_INET6, arg_of(argc, argv, "addr"), &sin6->sin6_addr);
    remote_len = sizeof *sin6;
  }

  printf("{\"steps\":[");
  /* SOCK_CLOEXEC in the call itself: no window for a fork to inherit it. */
  fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  step("socket", "SOCK_STREAM|SOCK_CLOEXEC", fd, errno);
  if (fd < 0) {
    verdict = errno;
    goto out;
  }
  if (use_select && fd >= FD_SETSIZE) {
    finish_failed(EINVAL);
    goto out;
  }

  int flags = fcntl(fd, F_GETFL, 0);
  step("fcntl", "F_GETFL", flags, errno);
  if (flags < 0) { finish_failed(errno); goto out; }
  int r = fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  step("fcntl", "F_SETFL", r, errno);
  if (r < 0) { finish_failed(errno); goto out; }

  if (arg_of(argc, argv, "linger0")) {
    struct linger l = {1, 0};
    r = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    step("setsockopt", "SO_LINGER", r, errno);
    if (r < 0) { finish_failed(errno); goto out; }
  }
  if (family != AF_UNIX) {
    static const struct { const char *key; int level, name; const char *arg; } opts[] = {
        {"nodelay", IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"},
        {"syncnt", IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT"},
        {"usertimeout", IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT"},
        {"bindnoport", IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
      const char *v = arg_of(argc, argv, opts[i].key);
      if (!v) continue;
      int value = atoi(v);
      r = setsockopt(fd, opts[i].level, opts[i].name, &value, sizeof value);
      step("setsockopt", opts[i].arg, r, errno);
      if (r < 0) { finish_failed(errno); goto out; }
    }
    const char *local = arg_of(argc, argv, "local");
    const char *local_port = arg_of(argc, argv, "localport");
    if (local || local_port) {
      struct sockaddr_storage la;
      socklen_t la_len;
      memset(&la, 0, sizeof la);
      int v6 = local ? strchr(local, ':') != NULL : family == AF_INET6;
      int port = local_port ? atoi(local_port) : 0;
      if (v6) {
        struct sockaddr_in6 *s6 = (void *)&la;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        if (local) inet_pton(AF_INET6, local, &s6->sin6_addr);
        la_len = sizeof *s6;
      } else {
        struct sockaddr_in *s4 = (void *)&la;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        if (local) inet_pton(AF_INET, local, &s4->sin_addr);
        la_len = sizeof *s4;
      }
      r = bind(fd, (struct sockaddr *)&la, la_len);
      step("bind", NULL, r, errno);
      if (r < 0) { finish_failed(errno); goto out; }
    }
  }

  r = connect(fd, (struct sockaddr *)&remote, remote_len);
  int err = errno;
  step("connect", NULL, r, err);
  if (r == 0) {
    struct sockaddr_storage peer;
    connected(family, 0, &peer);
    goto out;
  }
  if (err != EINPROGRESS && err != EINTR) {
    finish_failed(err);
    goto out;
  }

  const char *delay = arg_of(argc, argv, "waitdelay");
  if (delay) {
    struct timespec pause = {atoi(delay) / 1000, (atoi(delay) % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {
    }
  }

  /* epoll: an instance of its own (not a call on the socket, so not
   * printed), the fd registered for one EPOLLOUT; at the deadline the fd
   * leaves the set before the close. */
  int ep = -1;
  if (use_epoll) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT};
    r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    err = errno;
    step("epoll_ctl", "EPOLL_CTL_ADD", r, err);
    if (r < 0) { finish_failed(err); goto out; }
  }

  for (;;) {
    long long now = now_ns();
    if (deadline >= 0 && now >= deadline) {
      if (use_epoll) {
        struct epoll_event ev;
        r = epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev);
        step("epoll_ctl", "EPOLL_CTL_DEL", r, errno);
      }
      finish_failed(ETIMEDOUT);
      goto out;
    }
    long long left = deadline < 0 ? -1 : deadline - now;
    if (use_epoll) {
      struct epoll_event ev = {0};
      r = epoll_wait(ep, &ev, 1, left < 0 ? -1 : (int)((left + 999999) / 1000000));
      err = errno;
      step_begin("epoll_wait", NULL, r, err);
      events_json(r > 0 ? ev.events : 0);
      printf("}");
    } else if (!use_select) {
      struct pollfd p = {fd, POLLOUT, 0};
      r = poll(&p, 1, left < 0 ? -1 : (int)((left + 999999) / 1000000));
      err = errno;
      step_begin("poll", NULL, r, err);
      revents_json(r > 0 ? p.revents : 0);
      printf("}");
    } else {
      fd_set rs, ws;
      FD_ZERO(&rs);
      FD_SET(fd, &rs);
      ws = rs;
      struct timeval tv = {left / 1000000000, (left % 1000000000 + 999) / 1000};
      r = select(fd + 1, &rs, &ws, NULL, left < 0 ? NULL : &tv);
      err = errno;
      step_begin("select", NULL, r, err);
      printf(",\"readable\":%s,\"writable\":%s}", r > 0 && FD_ISSET(fd, &rs) ? "true" : "false",
             r > 0 && FD_ISSET(fd, &ws) ? "true" : "false");
    }
    if (r < 0 && err == EINTR) continue;
    if (r < 0) { finish_failed(err); goto out; }
    if (r == 0) continue;
    break;
  }

  if (strcmp(confirm, "so_error") == 0) {
    so_error_verdict(family);
  } else if (strcmp(confirm, "getpeername") == 0) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    r = getpeername(fd, (struct sockaddr *)&peer, &len);
    err = errno;
    step("getpeername", NULL, r, err);
    if (r == 0) connected(family, 1, &peer);
    else if (err == ENOTCONN) so_error_verdict(family);
    else finish_failed(err);
  } else if (strcmp(confirm, "read") == 0) {
    char byte;
    r = (int)read(fd, &byte, 0);
    err = errno;
    step("read", NULL, r, err);
    struct sockaddr_storage peer;
    if (r >= 0) connected(family, 0, &peer);
    else finish_failed(err);
  } else {
    r = connect(fd, (struct sockaddr *)&remote, remote_len);
    err = errno;
    step("connect", NULL, r, err);
    struct sockaddr_storage peer;
    if (r == 0 || err == EISCONN) connected(family, 0, &peer);
    else finish_failed(err);
  }

out:
  printf("],\"errno\":%d,\"self\":%s}\n", verdict, self_connect ? "true" : "false");
  return 0;
}
