/* Test fixture planted as `node`: waits when it is the container's first process, else leaves a marker. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void stop(int s) { (void)s; _exit(0); }

int main(int argc, char **argv) {
  if (getpid() == 1) {
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    for (;;) pause();
  }
  int fd = open("/tmp/rt-noexec-executed", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    for (int i = 0; i < argc; i++) {
      (void)!write(fd, argv[i], strlen(argv[i]));
      (void)!write(fd, " ", 1);
    }
    (void)!write(fd, "\n", 1);
    close(fd);
  }
  puts("v99.0.0");
  return 0;
}
