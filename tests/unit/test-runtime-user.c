/* USER[:GROUP] resolution in an image's /etc/passwd and /etc/group, as dockerd 20.10. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/user.h"
#include "tap.h"
#include "util/fs.h"

static char base[] = "/tmp/strata-user-XXXXXX";

int main(void)
{
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				     "bad line\n"
				     "app:x:1000:1001:app:/home/app:/bin/sh\n"
				     "nobody:x:65534:65534::/:/sbin/nologin";
	static const char group[] = "root:x:0:\nwheel:x:10:root,app\napp:x:1001:\n"
				    "audio:x:29:app\nshort:x:7\n";
	struct strata_error *err = NULL;
	struct runtime_user u;
	int dfd;

	if (!mkdtemp(base))
		bail_out("mkdtemp");
	dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ok(runtime_user_resolve(dfd, "", &u, &err) == 0 && u.uid == 0 && u.gid == 0,
	   "no passwd file: '' is root");
	ok(runtime_user_resolve(dfd, "1000", &u, &err) == 0 && u.uid == 1000 && u.gid == 0,
	   "no passwd file: a uid is used as is");
	ok(runtime_user_resolve(dfd, "app", &u, &err) == -STRATA_ERR_NOT_FOUND,
	   "no passwd file: a name is not found");
	strata_error_freep(&err);

	fs_mkdir_at(dfd, "etc", 0755, &err);
	fs_write_file_at(dfd, "etc/passwd", passwd, sizeof(passwd) - 1, 0644, &err);
	fs_write_file_at(dfd, "etc/group", group, sizeof(group) - 1, 0644, &err);
	ok(err == NULL, "image files written");

	ok(runtime_user_resolve(dfd, "", &u, &err) == 0 && u.uid == 0 && u.gid == 0 && u.n_sgids == 0,
	   "'' is root");
	ok(runtime_user_resolve(dfd, "app", &u, &err) == 0 && u.uid == 1000 && u.gid == 1001,
	   "a name gives its uid and primary gid");
	ok(u.n_sgids == 2 && u.sgids[0] == 10 && u.sgids[1] == 29, "and the groups listing it");
	ok(runtime_user_resolve(dfd, "1000", &u, &err) == 0 && u.uid == 1000 && u.gid == 1001,
	   "a uid in passwd gives its primary gid");
	ok(runtime_user_resolve(dfd, "4242", &u, &err) == 0 && u.uid == 4242 && u.gid == 0,
	   "a uid not in passwd is used as is, gid 0");
	ok(runtime_user_resolve(dfd, "app:wheel", &u, &err) == 0 && u.uid == 1000 && u.gid == 10 &&
	   u.n_sgids == 0, "a group name overrides the gid, no supplementary groups");
	ok(runtime_user_resolve(dfd, "nobody:5555", &u, &err) == 0 && u.uid == 65534 && u.gid == 5555,
	   "a numeric gid not in group is used as is");
	ok(err == NULL, "no error so far");

	ok(runtime_user_resolve(dfd, "ghost", &u, &err) == -STRATA_ERR_NOT_FOUND, "unknown user");
	is_str(err ? err->msg : NULL, "unable to find user ghost: no matching entries in passwd file",
	       "docker's message for a user");
	strata_error_freep(&err);
	ok(runtime_user_resolve(dfd, "app:ghosts", &u, &err) == -STRATA_ERR_NOT_FOUND, "unknown group");
	is_str(err ? err->msg : NULL, "unable to find group ghosts: no matching entries in group file",
	       "docker's message for a group");
	strata_error_freep(&err);

	/* /etc/passwd as a symlink out of the root is resolved inside the root */
	unlinkat(dfd, "etc/passwd", 0);
	symlinkat("/etc/passwd", dfd, "etc/passwd");
	ok(runtime_user_resolve(dfd, "root", &u, &err) < 0,
	   "a symlink to /etc/passwd resolves inside the root (a loop), never the host's file");
	strata_error_freep(&err);

	fs_remove_tree_at(AT_FDCWD, base, &err);
	close(dfd);
	return tap_done();
}
