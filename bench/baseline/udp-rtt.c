/*
 * udp-rtt: UDP request/response round-trip times, for the latency benchmark
 * (bench/latency.ts).
 *
 *   udp-rtt server ADDR PORT                  echo every datagram back, until killed
 *   udp-rtt client ADDR PORT COUNT GAP_US     COUNT requests of 64 bytes, one at a time,
 *                                             GAP_US microseconds between a reply and the
 *                                             next request (0: back to back); prints
 *                                             "sent N received M p50 X p99 Y max Z" (us)
 *
 * A request lost (no reply within 1 s) is counted and skipped; replies are
 * matched by sequence number, stale ones dropped.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int open_socket(const char *addr, int port, struct sockaddr_in *sa) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("socket");
    exit(1);
  }
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(port);
  if (inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
    fprintf(stderr, "udp-rtt: bad address %s\n", addr);
    exit(2);
  }
  return fd;
}

static int server(const char *addr, int port) {
  struct sockaddr_in sa;
  int fd = open_socket(addr, port, &sa);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("bind");
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  char buf[2048];
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) continue;
    sendto(fd, buf, n, 0, (struct sockaddr *)&from, fl);
  }
}

static int client(const char *addr, int port, int count, int gap_us) {
  struct sockaddr_in sa;
  int fd = open_socket(addr, port, &sa);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    perror("connect");
    return 1;
  }
  struct timeval tv = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  double *rtt = calloc(count, sizeof *rtt);
  int got = 0;
  char req[64], rep[2048];
  memset(req, 0, sizeof req);
  for (uint32_t seq = 1; seq <= (uint32_t)count; seq++) {
    memcpy(req, &seq, sizeof seq);
    double t0 = now_us();
    if (send(fd, req, sizeof req, 0) < 0) continue;
    for (;;) {
      ssize_t n = recv(fd, rep, sizeof rep, 0);
      if (n < 0) break; /* timeout: lost */
      uint32_t s;
      memcpy(&s, rep, sizeof s);
      if (n >= (ssize_t)sizeof s && s == seq) {
        rtt[got++] = now_us() - t0;
        break;
      }
    }
    if (gap_us > 0) usleep(gap_us);
  }
  qsort(rtt, got, sizeof *rtt, cmp_double);
  double p50 = got ? rtt[(int)(0.50 * (got - 1))] : -1;
  double p99 = got ? rtt[(int)(0.99 * (got - 1))] : -1;
  double max = got ? rtt[got - 1] : -1;
  printf("sent %d received %d p50 %.1f p99 %.1f max %.1f\n", count, got, p50, p99, max);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "server") == 0) return server(argv[2], atoi(argv[3]));
  if (argc == 6 && strcmp(argv[1], "client") == 0) return client(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: udp-rtt server ADDR PORT | udp-rtt client ADDR PORT COUNT GAP_US\n");
  return 2;
}
