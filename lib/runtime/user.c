/* The passwd/group lookups of moby/sys/user GetExecUser, which dockerd 20.10 uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/user.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/safepath.h"
#include "util/strbuf.h"

#define DB_MAX (4u << 20)

static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*end && errno == 0 && *out <= 0x7fffffffUL;
}

/* The file's text, or an empty string when the image has none. */
static int read_db(int rootfd, const char *path, char **out, struct strata_error **err)
{
	struct strata_error *e = NULL;
	_cleanup_close_ int fd = safepath_open(rootfd, path, O_RDONLY | O_CLOEXEC, 0, &e);

	if (fd < 0) {
		if (e->code != STRATA_ERR_NOT_FOUND)
			return strata_error_propagate(err, e);
		strata_error_free(e);
		*out = calloc(1, 1);
		return *out ? 0 : strata_error_set(err, STRATA_ERR_IO, ENOMEM, "%s", path);
	}
	struct strbuf sb;

	strbuf_init(&sb, 4096);
	for (;;) {
		ssize_t r;

		strbuf_grow(&sb, 4096);
		r = read(fd, sb.buf + sb.len, 4096);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			strbuf_release(&sb);
			return strata_error_set(err, fs_errcode(errno), errno, "read %s", path);
		}
		if (r == 0)
			break;
		strbuf_setlen(&sb, sb.len + (size_t)r);
		if (sb.len > DB_MAX) {
			strbuf_release(&sb);
			return strata_error_set(err, STRATA_ERR_TOO_LARGE, 0, "%s is too large", path);
		}
	}
	*out = strbuf_detach(&sb, NULL);
	return 0;
}

/* The next '\n'-ended line of *cur (cut in place), NULL at the end. */
static char *next_line(char **cur)
{
	char *l = *cur, *nl;

	if (!l || !*l)
		return NULL;
	nl = strchr(l, '\n');
	if (nl) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = NULL;
	}
	return l;
}

/* Split line into at most n ':' fields; false when it has fewer than min. */
static bool fields(char *line, char **f, size_t n, size_t min)
{
	size_t i = 0;

	while (i < n) {
		f[i++] = line;
		line = strchr(line, ':');
		if (!line)
			break;
		*line++ = '\0';
	}
	return i >= min;
}

static bool is_member(const char *members, const char *name)
{
	size_t n = strlen(name);

	for (const char *m = members; m; m = strchr(m, ',') ? strchr(m, ',') + 1 : NULL)
		if (strncmp(m, name, n) == 0 && (m[n] == ',' || m[n] == '\0'))
			return true;
	return false;
}

int runtime_user_resolve(int rootfd, const char *spec, struct runtime_user *out,
			 struct strata_error **err)
{
	_cleanup_free_ char *user = strdup(spec ? spec : ""), *passwd = NULL, *group = NULL;
	_cleanup_free_ char *name = NULL;
	char *grp;
	unsigned long n;
	bool found = false;
	int ret;

	if (!user)
		return strata_error_set(err, STRATA_ERR_IO, ENOMEM, "user");
	memset(out, 0, sizeof(*out));
	grp = strchr(user, ':');
	if (grp)
		*grp++ = '\0';
	ret = read_db(rootfd, "etc/passwd", &passwd, err);
	if (ret < 0)
		return ret;
	for (char *cur = passwd, *l; *user && (l = next_line(&cur));) {
		char *f[7] = { 0 };
		unsigned long uid, gid;

		if (!fields(l, f, 7, 4) || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
			continue;
		if (strcmp(f[0], user) == 0 || (parse_id(user, &n) && n == uid)) {
			out->uid = (uid_t)uid;
			out->gid = (gid_t)gid;
			name = strdup(f[0]);
			found = true;
			break;
		}
	}
	if (*user && !found) {
		if (!parse_id(user, &n))
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
						"unable to find user %s: no matching entries in passwd file",
						user);
		out->uid = (uid_t)n;
	}
	if (grp && !*grp)
		grp = NULL;
	if (!grp && !name)
		return 0;
	ret = read_db(rootfd, "etc/group", &group, err);
	if (ret < 0)
		return ret;
	found = false;
	for (char *cur = group, *l; (l = next_line(&cur));) {
		char *f[4] = { 0 };
		unsigned long gid;

		if (!fields(l, f, 4, 3) || !parse_id(f[2], &gid))
			continue;
		if (grp) {
			if (strcmp(f[0], grp) == 0 || (parse_id(grp, &n) && n == gid)) {
				out->gid = (gid_t)gid;
				found = true;
				break;
			}
		} else if (f[3] && is_member(f[3], name) && out->n_sgids < RUNTIME_MAX_SGIDS) {
			out->sgids[out->n_sgids++] = (gid_t)gid;
		}
	}
	if (grp && !found) {
		if (!parse_id(grp, &n))
			return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0,
						"unable to find group %s: no matching entries in group file",
						grp);
		out->gid = (gid_t)n;
	}
	return 0;
}
