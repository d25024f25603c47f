/*
 * The benchmark's peer: a loopback listener in its own process that accepts
 * as fast as it can and holds each connection until the client's RST (every
 * driver closes with SO_LINGER 0), then closes its end. Closing first would
 * race the client's SO_ERROR read with our own RST; waiting for the client's
 * leaves no TIME_WAIT on either side, so ports never run out. Every driver
 * connects to this same listener.
 *
 *   listener            prints {"port": N}, serves until stdin closes
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 4096) < 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
    perror("listener");
    return 1;
  }
  printf("{\"port\": %d}\n", ntohs(addr.sin_port));
  fflush(stdout);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = 0;
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  struct epoll_event ready[256];
  for (;;) {
    int n = epoll_wait(ep, ready, 256, -1);
    for (int i = 0; i < n; i++) {
      int r = ready[i].data.fd;
      if (r == 0) return 0;  /* stdin closed: the harness is done */
      if (r == fd) {
        for (;;) {
          int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
          if (c < 0) break;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      /* The client's RST (or FIN): done with it. close() drops it from epoll. */
      close(r);
    }
  }
}
