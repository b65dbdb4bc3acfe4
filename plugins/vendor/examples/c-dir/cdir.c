/* cdir: a Ferry storage plugin written in C, proving that a vendor needs no Rust.
 * `cdir:///absolute/folder/` stores objects as files under /absolute/folder/.
 * Build: cc -shared -fPIC -O2 -I plugins/vendor/abi/include -o libferry_cdir.so cdir.c
 * (define CDIR_ABI_VERSION to build a plugin for another ABI version, as the tests do). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ferry_plugin.h"

#ifndef CDIR_ABI_VERSION
#define CDIR_ABI_VERSION FERRY_PLUGIN_ABI_VERSION
#endif
#ifndef CDIR_NAME /* the tests rebuild the plugin under other names and schemes */
#define CDIR_NAME "cdir"
#endif
#ifndef CDIR_SCHEME
#define CDIR_SCHEME "cdir"
#endif

static _Thread_local char last_error[512];
typedef struct { char root[4096]; } Store;
typedef struct { FILE *f; uint64_t left; } Reader;
typedef struct { FILE *f; char tmp[4200]; char dst[4200]; } Writer;

static int fail(int status, const char *what, const char *key) {
  snprintf(last_error, sizeof last_error, "%s %s: %s", what, key, strerror(errno));
  return status;
}
static int fail_errno(const char *what, const char *key) {
  int s = errno == ENOENT ? FERRY_ERR_NOT_FOUND : errno == EACCES ? FERRY_ERR_PERMISSION_DENIED
        : errno == ENOSPC ? FERRY_ERR_STORAGE_FULL : errno == ENAMETOOLONG ? FERRY_ERR_INVALID_INPUT
        : FERRY_ERR_INTERNAL;
  return fail(s, what, key);
}
static void copy_str(char *dst, size_t cap, FerryStr s) {
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  if (n) memcpy(dst, s.ptr, n);
  dst[n] = 0;
}
/* root + key into out; -1 (errno ENAMETOOLONG) when it does not fit. */
static int full_path(const Store *st, FerryStr key, char *out, size_t cap) {
  size_t r = strlen(st->root);
  if (r + key.len >= cap) { errno = ENAMETOOLONG; return -1; }
  memcpy(out, st->root, r);
  if (key.len) memcpy(out + r, key.ptr, key.len);
  out[r + key.len] = 0;
  return 0;
}
static FerryStr cdir_last_error(void) { FerryStr s = {(const uint8_t *)last_error, strlen(last_error)}; return s; }

static int32_t cdir_open(const FerryKeyValue *cfg, size_t n, void **out) {
  Store *st = calloc(1, sizeof *st);
  if (!st) return FERRY_ERR_INTERNAL;
  strcpy(st->root, "/");
  for (size_t i = 0; i < n; i++) {
    if (cfg[i].key.len == 4 && !memcmp(cfg[i].key.ptr, "path", 4)) copy_str(st->root + 1, sizeof st->root - 1, cfg[i].value);
    if (cfg[i].key.len == 4 && !memcmp(cfg[i].key.ptr, "host", 4)) {
      free(st);
      snprintf(last_error, sizeof last_error, "cdir locations have no host: use cdir:///absolute/folder/");
      return FERRY_ERR_INVALID_INPUT;
    }
  }
  *out = st;
  return FERRY_OK;
}
static void cdir_close(void *st) { free(st); }

static int32_t cdir_stat(void *store, FerryStr key, FerryObjectInfo *out) {
  char p[4200]; struct stat sb;
  if (full_path(store, key, p, sizeof p)) return fail_errno("stat", "key");
  if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) { errno = ENOENT; return fail_errno("stat", p); }
  memset(out, 0, sizeof *out);
  out->size = (uint64_t)sb.st_size;
  out->modified_unix_ms = (int64_t)sb.st_mtime * 1000;
  return FERRY_OK;
}

/* Walks dir (whose key prefix is `prefix`) depth-first; returns a status, or -1 when stopped. */
static int walk(const char *dir, const char *prefix, FerryListCallback cb, void *ctx) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? FERRY_OK : fail_errno("listing", dir);
  struct dirent *e; int status = FERRY_OK;
  while (status == FERRY_OK && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strncmp(e->d_name, ".cdir-part-", 11)) continue;
    char p[4200], key[4200]; struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    snprintf(key, sizeof key, "%s%s", prefix, e->d_name);
    if (stat(p, &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode)) {
      strncat(key, "/", sizeof key - strlen(key) - 1);
      status = walk(p, key, cb, ctx);
    } else if (S_ISREG(sb.st_mode)) {
      FerryObjectInfo info = {{(const uint8_t *)key, strlen(key)}, (uint64_t)sb.st_size, (int64_t)sb.st_mtime * 1000, 0, 0, {0}};
      if (cb(ctx, &info) != 0) status = -1;
    }
  }
  closedir(d);
  return status;
}
static int32_t cdir_list(void *store, FerryStr prefix, FerryListCallback cb, void *ctx) {
  char dir[4200], pre[4096];
  if (full_path(store, prefix, dir, sizeof dir)) return fail_errno("listing", "prefix");
  copy_str(pre, sizeof pre, prefix);
  int s = walk(dir, pre, cb, ctx);
  return s < 0 ? FERRY_OK : s;
}

static int32_t cdir_read_open(void *store, FerryStr key, uint64_t off, uint64_t len, void **out) {
  char p[4200];
  if (full_path(store, key, p, sizeof p)) return fail_errno("opening", "key");
  FILE *f = fopen(p, "rb");
  if (!f) return fail_errno("opening", p);
  if (fseeko(f, (off_t)off, SEEK_SET) != 0) { fclose(f); return fail_errno("seeking in", p); }
  Reader *r = malloc(sizeof *r);
  if (!r) { fclose(f); return FERRY_ERR_INTERNAL; }
  r->f = f; r->left = len;
  *out = r;
  return FERRY_OK;
}
static int32_t cdir_read_chunk(void *reader, uint8_t *buf, size_t cap, size_t *out_len) {
  Reader *r = reader;
  size_t want = cap < r->left ? cap : (size_t)r->left;
  size_t n = fread(buf, 1, want, r->f);
  if (n < want && ferror(r->f)) return fail_errno("reading", "");
  r->left -= n;
  *out_len = n;
  return FERRY_OK;
}
static void cdir_read_close(void *reader) { Reader *r = reader; fclose(r->f); free(r); }

static int mkdirs(char *path) { /* creates every parent folder of path */
  for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = 0;
    int bad = mkdir(path, 0755) != 0 && errno != EEXIST;
    *s = '/';
    if (bad) return -1;
  }
  return 0;
}
static int32_t cdir_write_open(void *store, FerryStr key, uint64_t size, void **out) {
  (void)size;
  Writer *w = calloc(1, sizeof *w);
  if (!w) return FERRY_ERR_INTERNAL;
  if (full_path(store, key, w->dst, sizeof w->dst)) { free(w); return fail_errno("writing", "key"); }
  if (mkdirs(w->dst) != 0) { free(w); return fail_errno("creating the folders of", "object"); }
  char *slash = strrchr(w->dst, '/');
  snprintf(w->tmp, sizeof w->tmp, "%.*s/.cdir-part-XXXXXX", (int)(slash - w->dst), w->dst);
  int fd = mkstemp(w->tmp);
  if (fd < 0 || !(w->f = fdopen(fd, "wb"))) { free(w); return fail_errno("creating a staging file for", "object"); }
  *out = w;
  return FERRY_OK;
}
static int32_t cdir_write_chunk(void *writer, const uint8_t *data, size_t len) {
  Writer *w = writer;
  return fwrite(data, 1, len, w->f) == len ? FERRY_OK : fail_errno("writing", w->dst);
}
static int32_t cdir_write_finish(void *writer, uint32_t commit) {
  Writer *w = writer; int status = FERRY_OK;
  int bad = fflush(w->f) != 0 || fsync(fileno(w->f)) != 0;
  if (fclose(w->f) != 0) bad = 1;
  if (commit && bad) status = fail_errno("flushing", w->dst);
  else if (commit && rename(w->tmp, w->dst) != 0) status = fail_errno("renaming onto", w->dst);
  if (!commit || status != FERRY_OK) unlink(w->tmp);
  free(w);
  return status;
}
static int32_t cdir_delete(void *store, FerryStr key) {
  char p[4200];
  if (full_path(store, key, p, sizeof p)) return fail_errno("deleting", "key");
  return unlink(p) == 0 || errno == ENOENT ? FERRY_OK : fail_errno("deleting", p);
}

#define S(text) {(const uint8_t *)text, sizeof text - 1}
static const FerryStr schemes[] = {S(CDIR_SCHEME)};
static const FerryPluginV1 table = {
  {FERRY_PLUGIN_MAGIC, CDIR_ABI_VERSION, sizeof(FerryPluginV1)},
  S(CDIR_NAME), S("1.0.0"), S("example plugin in C: a local folder (cdir:///abs/folder/)"),
  schemes, 1,
  FERRY_CAP_LIST | FERRY_CAP_READ | FERRY_CAP_RANGE_READ | FERRY_CAP_WRITE | FERRY_CAP_DELETE | FERRY_CAP_ATOMIC_WRITE,
  cdir_last_error, cdir_open, cdir_close, cdir_stat, cdir_list,
  cdir_read_open, cdir_read_chunk, cdir_read_close,
  cdir_write_open, cdir_write_chunk, cdir_write_finish, cdir_delete,
};
const struct FerryHeader *ferry_plugin_entry(void) { return &table.header; }
