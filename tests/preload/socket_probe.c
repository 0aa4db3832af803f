/* A program that never asks for keepalive, run under `tcpka exec` by the tests: it makes
 * sockets the ways programs do and prints what each ended up with, one line per socket:
 *   <what> keepalive=<0|1> idle=<s> intvl=<s> cnt=<n> ut=<ms>
 * Plain C and POSIX, like the programs the shim is for. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every allocation the process makes, counted: the shim's hooks must make none. */
extern void* __libc_malloc(size_t size);
extern void* __libc_calloc(size_t count, size_t size);
static size_t allocations = 0;
void* malloc(size_t size) {
  ++allocations;
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) {
  ++allocations;
  return __libc_calloc(count, size);
}

/* A socket made before main(), by a constructor, as some libraries do (when asked: the
 * other modes count their sockets). */
static int constructor_socket = -1;
__attribute__((constructor)) static void make_socket_early(void) {
  if (getenv("SOCKET_PROBE_EARLY") != NULL) constructor_socket = socket(AF_INET, SOCK_STREAM, 0);
}

static int option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof(value);
  getsockopt(fd, level, name, &value, &length);
  return value;
}

static void report(const char* what, int fd) {
  printf("%s keepalive=%d idle=%d intvl=%d cnt=%d ut=%d\n", what,
         option(fd, SOL_SOCKET, SO_KEEPALIVE), option(fd, IPPROTO_TCP, TCP_KEEPIDLE),
         option(fd, IPPROTO_TCP, TCP_KEEPINTVL), option(fd, IPPROTO_TCP, TCP_KEEPCNT),
         option(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
  fflush(stdout);
}

/* A listener on the loopback of `family`, a client connected to it, and the accepted end. */
static void connection(int family, int flags) {
  const int listener = socket(family, SOCK_STREAM | flags, 0);
  struct sockaddr_storage address;
  socklen_t length = 0;
  memset(&address, 0, sizeof(address));
  if (family == AF_INET6) {
    struct sockaddr_in6* v6 = (struct sockaddr_in6*)&address;
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    length = sizeof(struct sockaddr_in6);
  } else {
    struct sockaddr_in* v4 = (struct sockaddr_in*)&address;
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(struct sockaddr_in);
  }
  if (bind(listener, (struct sockaddr*)&address, length) != 0 || listen(listener, 4) != 0 ||
      getsockname(listener, (struct sockaddr*)&address, &length) != 0) {
    perror("listener");
    exit(1);
  }
  const int client = socket(family, SOCK_STREAM, 0);
  if (connect(client, (struct sockaddr*)&address, length) != 0) {
    perror("connect");
    exit(1);
  }
  const int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  report("listener", listener);
  report("client", client);
  report("accepted", accepted);
  close(accepted);
  close(client);
  close(listener);
}

static void* thread_socket(void* unused) {
  (void)unused;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  report("thread", fd);
  close(fd);
  return NULL;
}

/* The hooks leave errno as the real call set it. */
static void errno_after_failures(void) {
  errno = 0;
  const int bad = socket(AF_INET, SOCK_STREAM, 12345);
  printf("bad protocol: %d %s\n", bad, strerror(errno));
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in nowhere;
  memset(&nowhere, 0, sizeof(nowhere));
  nowhere.sin_family = AF_INET;
  nowhere.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  nowhere.sin_port = htons(1); /* nothing listens on port 1 here */
  const int connected = connect(fd, (struct sockaddr*)&nowhere, sizeof(nowhere));
  printf("refused: %d %s\n", connected, strerror(errno));
}

static void count_allocations(void) {
  const int warm = socket(AF_INET, SOCK_STREAM, 0); /* lazy binding resolved here */
  close(warm);
  const size_t before = allocations;
  for (int i = 0; i < 100; ++i) {
    const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    listen(fd, 1);
    close(fd);
  }
  printf("allocations during 100 sockets: %zu\n", allocations - before);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "connection";
  if (strcmp(mode, "connection") == 0) {
    connection(AF_INET, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } else if (strcmp(mode, "ipv6") == 0) {
    connection(AF_INET6, 0);
  } else if (strcmp(mode, "threads") == 0) {
    pthread_t threads[8];
    for (int i = 0; i < 8; ++i)
      pthread_create(&threads[i], NULL, thread_socket, NULL);
    for (int i = 0; i < 8; ++i)
      pthread_join(threads[i], NULL);
  } else if (strcmp(mode, "own-keepalive-off") == 0) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int off = 0;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &off, sizeof(off));
    report("own", fd);
  } else if (strcmp(mode, "udp") == 0) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    printf("udp keepalive=%d\n", option(fd, SOL_SOCKET, SO_KEEPALIVE));
  } else if (strcmp(mode, "fork-exec") == 0) {
    const pid_t child = fork();
    if (child == 0) {
      execl(argv[0], argv[0], "plain", (char*)NULL);
      _exit(127);
    }
    waitpid(child, NULL, 0);
  } else if (strcmp(mode, "constructor") == 0) {
    report("constructor", constructor_socket);
  } else if (strcmp(mode, "errno") == 0) {
    errno_after_failures();
  } else if (strcmp(mode, "allocations") == 0) {
    count_allocations();
  } else if (strcmp(mode, "plain") == 0) {
    report("exec'd child", socket(AF_INET, SOCK_STREAM, 0));
  } else {
    fprintf(stderr, "socket_probe: unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
