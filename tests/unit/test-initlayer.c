/* The container init layer and containers/<id>/{hostname,hosts}: dockerd 20.10's contents and modes. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/etcfiles.h"
#include "container/initlayer.h"
#include "tap.h"
#include "util/fs.h"

static char base[] = "/tmp/strata-initlayer-XXXXXX";

/* "d755", "f755 0", "l" or "-" for a missing entry */
static const char *kind_of(int dfd, const char *path, char *buf, size_t n)
{
	struct stat st;

	if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return "-";
	if (S_ISLNK(st.st_mode))
		return "l";
	snprintf(buf, n, "%c%o %lld %u:%u", S_ISDIR(st.st_mode) ? 'd' : 'f',
		 (unsigned)(st.st_mode & 07777), S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size,
		 (unsigned)st.st_uid, (unsigned)st.st_gid);
	return buf;
}

int main(void)
{
	struct strata_error *err = NULL;
	static const char *dirs[] = { "dev", "etc", "dev/pts", "dev/shm", "proc", "sys" };
	static const char *files[] = { ".dockerenv", "etc/resolv.conf", "etc/hosts",
				       "etc/hostname", "dev/console" };
	char buf[64], target[64];
	ssize_t n;
	int dfd;

	if (!mkdtemp(base))
		bail_out("mkdtemp");
	dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	umask(077);

	ok(container_init_layer_populate(dfd, &err) == 0, "populate an empty folder");
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		is_str(kind_of(dfd, dirs[i], buf, sizeof(buf)), "d755 0 0:0", "%s is a 0755 folder", dirs[i]);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		is_str(kind_of(dfd, files[i], buf, sizeof(buf)), "f755 0 0:0",
		       "%s is an empty 0755 file despite umask 077", files[i]);
	n = readlinkat(dfd, "etc/mtab", target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = '\0';
	is_str(target, "/proc/mounts", "etc/mtab -> /proc/mounts");

	/* an entry the folder already has is kept as it is (dockerd skips it) */
	unlinkat(dfd, "etc/hosts", 0);
	ok(fs_write_file_at(dfd, "etc/hosts", "x\n", 2, 0644, &err) == 0, "write a hosts file");
	ok(container_init_layer_populate(dfd, &err) == 0, "populate again");
	is_str(kind_of(dfd, "etc/hosts", buf, sizeof(buf)), "f644 2 0:0", "existing etc/hosts kept");
	ok(err == NULL, "no error left");

	/* never written through a symlink (the init layer must stay inside its folder) */
	unlinkat(dfd, "dev/console", 0);
	symlinkat("/nonexistent", dfd, "dev/console");
	ok(container_init_layer_populate(dfd, &err) == 0 && err == NULL,
	   "an existing symlink at dev/console is kept, not followed");
	is_str(kind_of(dfd, "dev/console", buf, sizeof(buf)), "l", "dev/console still the symlink");

	/* hostname and hosts as a --network none container of dockerd's captures has them */
	ok(container_write_etc_files(dfd, "590429a22410", NULL, &err) == 0, "write hostname and hosts");
	{
		char *text = NULL;
		size_t len;

		fs_read_file_at(dfd, "hostname", 4096, &text, &len, &err);
		is_str(text, "590429a22410\n", "hostname is the short id and a newline");
		free(text);
		text = NULL;
		fs_read_file_at(dfd, "hosts", 4096, &text, &len, &err);
		is_str(text, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
			     "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
			     "ff02::2\tip6-allrouters\n", "hosts without an address line");
		free(text);
		is_str(kind_of(dfd, "hosts", buf, sizeof(buf)), "f644 150 0:0", "hosts 0644, 150 bytes as dockerd's");
	}
	fs_remove_tree_at(AT_FDCWD, base, &err);
	close(dfd);
	return tap_done();
}
