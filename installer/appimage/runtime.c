/*
 * Venue Desk AppImage runtime (AppImage specification, type 2).
 *
 * An AppImage is this executable with a squashfs image appended directly
 * after its last ELF byte. Started, the runtime mounts the image read-only
 * with FUSE and execs <mount>/AppRun; where FUSE cannot work (containers, no
 * fuse3 installed) it extracts the image once into $TMPDIR and runs from
 * there. See docs/appimage-runtime.md for the design and its limits.
 *
 * We write our own instead of using the official runtime because that one
 * is only published on GitHub, which our build hosts cannot reach; Debian's
 * libsquashfuse and libfuse3 give us everything else, linked statically so
 * the result only needs glibc on the target machine.
 */
#define _GNU_SOURCE
#include <squashfuse/ll.h>

#include <dirent.h>
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNTIME_VERSION "venue-desk-appimage-runtime 1.0 (AppImage type 2)"
#define MARKER ".appimage-extract-complete"
#define CHUNK (1 << 20)

/* AppImage tools look for these sections by name; we carry no update
 * information and no signature, so they stay zero-filled. */
__attribute__((section(".upd_info"), used)) static const char upd_info[1024] = {0};
__attribute__((section(".sha256_sig"), used)) static const char sha256_sig[1024] = {0};

static const char *prog = "appimage"; /* basename of the AppImage, for messages */
static sqfs_ll ll;                    /* the image; also the FUSE userdata */

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---------------------------------------------------------------- image */

/* The squashfs starts where the ELF file ends. Section headers usually come
 * last, but a linker may place them anywhere, so take the furthest byte any
 * header, segment or section claims. */
static off_t elf_end(int fd) {
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        eh.e_ident[EI_CLASS] != ELFCLASS64)
        die("cannot read our own ELF header");
    off_t end = eh.e_shoff + (off_t)eh.e_shnum * eh.e_shentsize;
    if ((off_t)(eh.e_phoff + (off_t)eh.e_phnum * eh.e_phentsize) > end)
        end = eh.e_phoff + (off_t)eh.e_phnum * eh.e_phentsize;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, eh.e_phoff + (off_t)i * eh.e_phentsize) != sizeof ph)
            die("cannot read our own ELF program headers");
        if ((off_t)(ph.p_offset + ph.p_filesz) > end)
            end = ph.p_offset + ph.p_filesz;
    }
    for (int i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (pread(fd, &sh, sizeof sh, eh.e_shoff + (off_t)i * eh.e_shentsize) != sizeof sh)
            die("cannot read our own ELF section headers");
        if (sh.sh_type != SHT_NOBITS && (off_t)(sh.sh_offset + sh.sh_size) > end)
            end = sh.sh_offset + sh.sh_size;
    }
    return end;
}

/* Checks what libsquashfuse would only report vaguely (or not at all, for a
 * truncated file whose tables happen to be readable), so the user learns
 * whether the file is not an AppImage or a damaged one. */
static void open_image(int fd, off_t offset, off_t size) {
    struct squashfs_super_block sb;
    if (size <= offset)
        die("not an AppImage: no squashfs image is appended to the runtime (it ends at byte %lld)",
            (long long)offset);
    ssize_t n = pread(fd, &sb, sizeof sb, offset);
    if (n < 4 || le32toh(sb.s_magic) != SQUASHFS_MAGIC)
        die("not an AppImage: no squashfs image at offset %lld", (long long)offset);
    if (n != sizeof sb)
        die("damaged AppImage: the squashfs image is truncated inside its superblock");
    if ((uint64_t)offset + le64toh(sb.bytes_used) > (uint64_t)size)
        die("damaged AppImage: the squashfs image is truncated (%llu bytes expected after offset "
            "%lld, the file has %lld)",
            (unsigned long long)le64toh(sb.bytes_used), (long long)offset,
            (long long)(size - offset));
    switch (sqfs_init(&ll.fs, fd, offset)) {
    case SQFS_OK: break;
    case SQFS_BADCOMP:
        die("unsupported AppImage: squashfs compression '%s' is not built into this runtime",
            sqfs_compression_name(le16toh(sb.compression)));
    case SQFS_BADVERSION:
        die("unsupported AppImage: squashfs version %d.%d", le16toh(sb.s_major),
            le16toh(sb.s_minor));
    default: die("damaged AppImage: cannot read the squashfs tables at offset %lld",
                 (long long)offset);
    }
}

/* A cache key for the extracted tree: a fast 64-bit multiply-xor hash over
 * the whole image (about 30 ms per 100 MB from the page cache), so a rebuilt
 * AppImage never reuses a stale extraction even if its size is unchanged. */
static uint64_t image_digest(int fd, off_t offset, off_t size) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(size - offset);
    char *buf = malloc(CHUNK);
    if (!buf) die("out of memory");
    for (off_t pos = offset; pos < size;) {
        ssize_t n = pread(fd, buf, CHUNK, pos);
        if (n <= 0) die("cannot read the AppImage: %s", n ? strerror(errno) : "unexpected end");
        ssize_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            memcpy(&w, buf + i, 8);
            h = (h ^ w) * 0x100000001b3ULL;
            h ^= h >> 29;
        }
        for (; i < n; i++) h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
        pos += n;
    }
    free(buf);
    return h ^ (h >> 32);
}

/* ---------------------------------------------------------- extraction */

struct dirfix { char *path; mode_t mode; struct timespec mtime; };

static int mkdir_p(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0755);
        *p = '/';
        if (r && errno != EEXIST) return -1;
    }
    return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

static int extract_file(sqfs_inode *inode, const char *dst, char *buf) {
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return -1;
    uint64_t total = inode->xtra.reg.file_size;
    for (uint64_t pos = 0; pos < total;) {
        sqfs_off_t n = total - pos > CHUNK ? CHUNK : total - pos;
        if (sqfs_read_range(&ll.fs, inode, pos, &n, buf) || n <= 0) {
            close(out);
            errno = EIO; /* the image, not the disk: reported as damage by the caller */
            return -2;
        }
        for (char *p = buf; p < buf + n;) {
            ssize_t w = write(out, p, buf + n - p);
            if (w < 0) { close(out); return -1; }
            p += w;
        }
        pos += n;
    }
    if (fchmod(out, inode->base.mode & 0777)) { close(out); return -1; }
    return close(out);
}

/* Extracts every entry whose path starts with `prefix` (all if NULL) into
 * `dest` with libsquashfuse's reader. Hard links become copies. Directories
 * are created writable and get their real mode only at the end, so a
 * read-only directory cannot block writing its own children. */
static int extract_tree(const char *dest, const char *prefix, int verbose) {
    sqfs_traverse trv;
    sqfs_err err = SQFS_OK;
    struct dirfix *dirs = NULL;
    size_t ndirs = 0, cap = 0, count = 0;
    size_t plen = prefix ? strlen(prefix) : 0;
    char *buf = malloc(CHUNK), *dst = NULL;
    int rc = -1;

    if (!buf || sqfs_traverse_open(&trv, &ll.fs, sqfs_inode_root(&ll.fs))) {
        fprintf(stderr, "%s: damaged AppImage: cannot read the root directory\n", prog);
        free(buf);
        return -1;
    }
    while (sqfs_traverse_next(&trv, &err)) {
        if (trv.dir_end) continue;
        const char *path = trv.path;
        int isdir = sqfs_dentry_is_dir(&trv.entry);
        if (prefix && strncmp(path, prefix, plen)) {
            /* Keep walking only towards directories that can contain a match. */
            size_t len = strlen(path);
            if (isdir && !(len < plen && !strncmp(path, prefix, len) && prefix[len] == '/'))
                sqfs_traverse_prune(&trv);
            continue;
        }
        sqfs_inode inode;
        if (sqfs_inode_get(&ll.fs, &inode, sqfs_dentry_inode(&trv.entry))) {
            fprintf(stderr, "%s: damaged AppImage: cannot read the inode of %s\n", prog, path);
            goto out;
        }
        free(dst);
        if (asprintf(&dst, "%s/%s", dest, path) < 0) { dst = NULL; goto out; }
        if (prefix) { /* parents were skipped; create them plainly */
            char *slash = strrchr(dst, '/');
            *slash = 0;
            int r = mkdir_p(dst);
            *slash = '/';
            if (r) goto fail;
        }
        struct timespec times[2] = {{0, UTIME_OMIT}, {inode.base.mtime, 0}};
        mode_t mode = inode.base.mode;
        if (!S_ISDIR(mode) && unlink(dst) && errno != ENOENT) goto fail;
        if (S_ISDIR(mode)) {
            struct stat st;
            if (mkdir(dst, 0700) && !(errno == EEXIST && !stat(dst, &st) && S_ISDIR(st.st_mode)))
                goto fail;
            if (ndirs == cap && !(dirs = reallocarray(dirs, cap = cap ? cap * 2 : 64, sizeof *dirs)))
                goto fail;
            dirs[ndirs++] = (struct dirfix){strdup(dst), mode & 0777, times[1]};
        } else if (S_ISREG(mode)) {
            int r = extract_file(&inode, dst, buf);
            if (r == -2) {
                fprintf(stderr, "%s: damaged AppImage: cannot read %s from the squashfs image\n",
                        prog, path);
                goto out;
            }
            if (r) goto fail;
            utimensat(AT_FDCWD, dst, times, 0);
        } else if (S_ISLNK(mode)) {
            char target[PATH_MAX + 1];
            size_t size = sizeof target;
            if (sqfs_readlink(&ll.fs, &inode, target, &size)) {
                fprintf(stderr, "%s: damaged AppImage: cannot read the link %s\n", prog, path);
                goto out;
            }
            if (symlink(target, dst)) goto fail;
            utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW);
        } else if (S_ISFIFO(mode)) {
            if (mkfifo(dst, mode & 0777)) goto fail;
        } else {
            continue; /* device nodes and sockets have no place in an AppDir */
        }
        count++;
        if (verbose) printf("%s\n", dst);
    }
    if (err) {
        fprintf(stderr, "%s: damaged AppImage: cannot read a directory of the squashfs image\n",
                prog);
        goto out;
    }
    for (size_t i = ndirs; i-- > 0;) { /* deepest first, so parents stay writable meanwhile */
        struct timespec times[2] = {{0, UTIME_OMIT}, dirs[i].mtime};
        chmod(dirs[i].path, dirs[i].mode);
        utimensat(AT_FDCWD, dirs[i].path, times, 0);
    }
    if (verbose && !count) fprintf(stderr, "%s: nothing in the AppImage matches '%s'\n", prog, prefix);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "%s: cannot extract to %s: %s\n", prog, dst ? dst : dest, strerror(errno));
out:
    for (size_t i = 0; i < ndirs; i++) free(dirs[i].path);
    free(dirs);
    free(dst);
    free(buf);
    sqfs_traverse_close(&trv);
    return rc;
}

static int rm_rf(const char *path) {
    /* Via `rm` would need a shell; a small recursive walk keeps the runtime
     * self-contained and never follows symlinks (unlinkat on the link). */
    struct stat st;
    if (lstat(path, &st)) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (!d) return -1;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *sub;
            if (asprintf(&sub, "%s/%s", path, e->d_name) < 0) { closedir(d); return -1; }
            rm_rf(sub);
            free(sub);
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

/* ----------------------------------------------------------------- run */

static char *apprun_path(const char *appdir) {
    char *p;
    struct stat st;
    if (asprintf(&p, "%s/AppRun", appdir) < 0) die("out of memory");
    if (stat(p, &st)) {
        fprintf(stderr, "%s: AppRun is missing from the AppImage (%s: %s)\n", prog, p, strerror(errno));
        free(p);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
        fprintf(stderr, "%s: AppRun in the AppImage is not an executable file (%s)\n", prog, p);
        free(p);
        return NULL;
    }
    return p;
}

/* Returns only if exec failed (after printing why). */
static void exec_apprun(const char *apprun, const char *appdir, const char *appimage,
                        const char *argv0, const char *owd, int argc, char **args) {
    setenv("APPIMAGE", appimage, 1);
    setenv("APPDIR", appdir, 1);
    setenv("ARGV0", argv0, 1);
    setenv("OWD", owd, 1);
    char **nargv = calloc(argc + 2, sizeof *nargv);
    if (!nargv) die("out of memory");
    nargv[0] = (char *)apprun;
    memcpy(nargv + 1, args, argc * sizeof *args);
    fflush(stdout);
    execv(apprun, nargv);
    fprintf(stderr, "%s: cannot run %s: %s%s\n", prog, apprun, strerror(errno),
            errno == EIO ? " (the AppImage is damaged)" : "");
    free(nargv);
}

/* ---------------------------------------------------------------- FUSE */

struct mount { char *dir; int keep_w; int status_r; };

/* The FUSE server: lives in a grandchild (so AppRun never sees an unexpected
 * child of its own) and serves until every holder of the keep-alive pipe's
 * write end -- AppRun and whatever it started -- has exited. */
static void serve(const char *dir, int keep_r, int status_w) {
    static const char *fuse_argv[] = {"appimage", "-o", "ro,nosuid,nodev,subtype=appimage", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, (char **)fuse_argv);
    struct fuse_lowlevel_ops ops = {
        .lookup = sqfs_ll_op_lookup,   .forget = sqfs_ll_op_forget,
        .getattr = sqfs_ll_op_getattr, .readlink = sqfs_ll_op_readlink,
        .open = sqfs_ll_op_open,       .read = sqfs_ll_op_read,
        .release = sqfs_ll_op_release, .opendir = sqfs_ll_op_opendir,
        .readdir = sqfs_ll_op_readdir, .releasedir = sqfs_ll_op_releasedir,
        .statfs = stfs_ll_op_statfs,   .getxattr = sqfs_ll_op_getxattr,
        .listxattr = sqfs_ll_op_listxattr, .create = sqfs_ll_op_create,
    };
    char msg[512] = "E";

    setsid(); /* Ctrl-C in the terminal must reach the app, not kill its filesystem */
    signal(SIGPIPE, SIG_IGN);
    if (chdir("/")) {} /* do not pin the caller's working directory */

    /* libfuse and fusermount3 explain mount failures on stderr; capture that
     * text so the parent can fold it into its single fallback line. */
    int saved = dup(2), cap = memfd_create("fuse-errors", MFD_CLOEXEC);
    if (cap >= 0 && saved >= 0) dup2(cap, 2);
    struct fuse_session *se = NULL;
    int ok = !sqfs_ll_init(&ll) && (se = fuse_session_new(&args, &ops, sizeof ops, &ll)) &&
             !fuse_session_mount(se, dir);
    if (cap >= 0 && saved >= 0) {
        dup2(saved, 2);
        close(saved); /* a stray copy would hold the caller's stderr pipe open */
        ssize_t n = pread(cap, msg + 1, sizeof msg - 2, 0);
        msg[n > 0 ? n + 1 : 1] = 0;
        for (char *p = msg; *p; p++) if (*p == '\n') *p = ' ';
        close(cap);
    }
    if (!ok) {
        if (msg[1] == 0) snprintf(msg, sizeof msg, "Ecannot start the FUSE session");
        if (write(status_w, msg, strlen(msg))) {}
        if (se) fuse_session_destroy(se);
        rmdir(dir);
        _exit(1);
    }
    if (write(status_w, "R", 1) != 1) {}

    int null = open("/dev/null", O_RDWR);
    dup2(null, 0), dup2(null, 1), dup2(null, 2); /* never hold the caller's pipes open */
    if (null > 2) close(null);

    struct fuse_buf fbuf = {0};
    struct pollfd pfd[2] = {{fuse_session_fd(se), POLLIN, 0}, {keep_r, POLLIN, 0}};
    while (!fuse_session_exited(se)) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pfd[1].revents) { /* only EOF can arrive: nobody writes to it */
            char c;
            if (read(keep_r, &c, 1) <= 0) break;
        }
        if (pfd[0].revents & POLLIN) {
            int r = fuse_session_receive_buf(se, &fbuf);
            if (r == -EINTR || r == -EAGAIN) continue;
            if (r <= 0) break; /* unmounted behind our back */
            fuse_session_process_buf(se, &fbuf);
        } else if (pfd[0].revents) {
            break;
        }
    }
    free(fbuf.mem);
    /* Lazy (MNT_DETACH / fusermount3 -z): a process that closed its keep-alive
     * fd but still has a file open must not make the unmount fail. */
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    rmdir(dir);
    _exit(0); /* closing status_w tells a waiting parent that teardown is complete */
}

/* Mounts the image; on failure returns -1 with the reason in `why`. */
static int mount_image(struct mount *m, char *why, size_t whylen) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    if (access("/dev/fuse", R_OK | W_OK)) {
        snprintf(why, whylen, "/dev/fuse: %s", strerror(errno));
        return -1;
    }
    if (asprintf(&m->dir, "%s/.mount_%.6sXXXXXX", tmp, prog) < 0) die("out of memory");
    if (!mkdtemp(m->dir)) die("cannot create the mount directory %s: %s", m->dir, strerror(errno));

    int keep[2], status[2];
    if (pipe2(keep, 0) || pipe2(status, O_CLOEXEC)) die("cannot create a pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) die("cannot fork: %s", strerror(errno));
    if (pid == 0) {
        close(keep[1]);
        close(status[0]);
        pid_t grandchild = fork();
        if (grandchild == 0) serve(m->dir, keep[0], status[1]);
        _exit(grandchild < 0);
    }
    waitpid(pid, NULL, 0);
    close(keep[0]);
    close(status[1]);
    m->keep_w = keep[1];
    m->status_r = status[0];

    /* Blocks until the server reports the session mounted: "R", or "E<why>". */
    char msg[512];
    ssize_t n = read(m->status_r, msg, sizeof msg - 1);
    if (n > 0 && msg[0] == 'R') return 0;
    msg[n > 0 ? n : 0] = 0;
    size_t len = strlen(msg);
    while (len > 1 && (msg[len - 1] == ' ' || msg[len - 1] == '\n')) msg[--len] = 0;
    snprintf(why, whylen, "%s", n > 1 ? msg + 1 : "the FUSE server exited without mounting");
    close(m->keep_w);
    close(m->status_r);
    rmdir(m->dir);
    return -1;
}

/* Drops our keep-alive reference and waits until the server has unmounted,
 * so an error exit never leaves a stale mount behind. */
static void unmount_image(struct mount *m) {
    char c;
    close(m->keep_w);
    for (ssize_t n; (n = read(m->status_r, &c, 1)) > 0 || (n < 0 && errno == EINTR);) {}
    close(m->status_r);
}

/* --appimage-mount: stay until SIGINT/SIGTERM/SIGHUP or an external unmount. */
static int mount_and_wait(void) {
    struct mount m;
    char why[512];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT), sigaddset(&set, SIGTERM), sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (mount_image(&m, why, sizeof why)) die("cannot mount the AppImage with FUSE: %s", why);
    printf("%s\n", m.dir);
    fflush(stdout);
    struct pollfd pfd[2] = {{signalfd(-1, &set, SFD_CLOEXEC), POLLIN, 0}, {m.status_r, POLLIN, 0}};
    while (poll(pfd, 2, -1) < 0 && errno == EINTR) {}
    unmount_image(&m);
    return 0;
}

/* ------------------------------------------------------- extract-and-run */

/* Extracted trees are kept in $TMPDIR for the next start (see the design
 * note); a tree is published by rename() only once complete, with a marker
 * written last, so a concurrent start sees all of it or none. */
static char *extracted_dir(int fd, off_t offset, off_t size, int announce, const char *why) {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char *dir, *marker, *work;
    if (asprintf(&dir, "%s/appimage_extracted_%016llx", tmp,
                 (unsigned long long)image_digest(fd, offset, size)) < 0 ||
        asprintf(&marker, "%s/" MARKER, dir) < 0 || asprintf(&work, "%s.tmp-XXXXXX", dir) < 0)
        die("out of memory");
    if (announce)
        fprintf(stderr, "%s: cannot mount the AppImage with FUSE (%s); falling back to "
                "extract-and-run in %s (slower first start). For faster starts install the fuse3 "
                "package and allow access to /dev/fuse.\n", prog, why, dir);

    struct stat st;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!lstat(marker, &st)) {
            /* $TMPDIR is shared: never run a tree someone else could have planted. */
            if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
                (st.st_mode & 022))
                die("refusing to run from %s: it is not a directory owned by you and closed to "
                    "others; remove it", dir);
            return dir;
        }
        if (!mkdtemp(work)) die("cannot create the extract directory %s: %s", work, strerror(errno));
        if (extract_tree(work, NULL, 0)) { rm_rf(work); exit(1); }
        char *wmarker;
        int mfd;
        if (asprintf(&wmarker, "%s/" MARKER, work) < 0 ||
            (mfd = open(wmarker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 || close(mfd))
            die("cannot write %s/" MARKER ": %s", work, strerror(errno));
        free(wmarker);
        if (!rename(work, dir)) return dir;
        int e = errno;
        rm_rf(work);
        if (e != EEXIST && e != ENOTEMPTY)
            die("cannot rename the extracted tree to %s: %s", dir, strerror(e));
        /* Another start won the race (marker present: reuse it) or left an
         * incomplete tree behind (no marker: replace it). */
        if (lstat(marker, &st)) rm_rf(dir);
        strcpy(work + strlen(work) - 6, "XXXXXX");
    }
    die("cannot publish the extracted tree at %s", dir);
}

/* ---------------------------------------------------------------- main */

static void usage(void) {
    printf("Usage: %s [--appimage-OPTION | ARGS FOR THE APP...]\n"
           "  --appimage-help              show this help\n"
           "  --appimage-version           print the runtime version\n"
           "  --appimage-offset            print the byte offset of the squashfs image\n"
           "  --appimage-extract [PREFIX]  extract the contents (or the paths starting with\n"
           "                               PREFIX) to ./squashfs-root\n"
           "  --appimage-mount             mount the image, print the mount point, stay until\n"
           "                               interrupted\n"
           "  --appimage-extract-and-run   extract to $TMPDIR and run from there (same as\n"
           "                               APPIMAGE_EXTRACT_AND_RUN=1)\n"
           "Other arguments are passed to the app.\n", prog);
}

int main(int argc, char **argv) {
    /* fds 0-2 must be taken, or a pipe could land on them and be clobbered
     * by the server's /dev/null redirection. */
    for (int fd; (fd = open("/dev/null", O_RDWR)) >= 0;)
        if (fd > 2) { close(fd); break; }

    char *appimage = realpath("/proc/self/exe", NULL);
    char owd[PATH_MAX];
    if (!appimage) die("cannot resolve /proc/self/exe: %s", strerror(errno));
    prog = strrchr(appimage, '/') + 1;
    if (!getcwd(owd, sizeof owd)) strcpy(owd, "/");

    int fd = open(appimage, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) die("cannot open %s: %s", appimage, strerror(errno));
    off_t offset = elf_end(fd);

    const char *opt = argc > 1 && !strncmp(argv[1], "--appimage-", 11) ? argv[1] : NULL;
    if (opt && !strcmp(opt, "--appimage-help")) return usage(), 0;
    if (opt && !strcmp(opt, "--appimage-version")) return puts(RUNTIME_VERSION), 0;
    if (opt && !strcmp(opt, "--appimage-offset")) return printf("%lld\n", (long long)offset), 0;
    int extract_and_run = opt && !strcmp(opt, "--appimage-extract-and-run");
    if (opt && !extract_and_run && strcmp(opt, "--appimage-extract") &&
        strcmp(opt, "--appimage-mount"))
        die("unknown option %s (see --appimage-help)", opt);

    open_image(fd, offset, st.st_size);

    if (opt && !strcmp(opt, "--appimage-extract")) {
        if (mkdir("squashfs-root", 0755) && errno != EEXIST)
            die("cannot create the extract directory %s/squashfs-root: %s", owd, strerror(errno));
        return extract_tree("squashfs-root", argc > 2 ? argv[2] : NULL, 1) ? 1 : 0;
    }
    if (opt && !strcmp(opt, "--appimage-mount")) return mount_and_wait();

    int args_from = extract_and_run ? 2 : 1;
    const char *env = getenv("APPIMAGE_EXTRACT_AND_RUN");
    extract_and_run |= env && !strcmp(env, "1");

    char why[512] = "";
    if (!extract_and_run) {
        struct mount m;
        if (!mount_image(&m, why, sizeof why)) {
            char *apprun = apprun_path(m.dir);
            if (apprun)
                exec_apprun(apprun, m.dir, appimage, argv[0], owd, argc - args_from, argv + args_from);
            unmount_image(&m);
            return 127;
        }
    }
    char *dir = extracted_dir(fd, offset, st.st_size, !extract_and_run, why);
    char *apprun = apprun_path(dir);
    if (apprun) exec_apprun(apprun, dir, appimage, argv[0], owd, argc - args_from, argv + args_from);
    return 127;
}
