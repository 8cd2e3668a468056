/* Contents as libnetwork/etchosts writes them (seen in captures/container/). */
#include "container/etcfiles.h"
#include "util/fs.h"
#include "util/strbuf.h"

static const char default_hosts[] = "127.0.0.1\tlocalhost\n"
				    "::1\tlocalhost ip6-localhost ip6-loopback\n"
				    "fe00::0\tip6-localnet\n"
				    "ff00::0\tip6-mcastprefix\n"
				    "ff02::1\tip6-allnodes\n"
				    "ff02::2\tip6-allrouters\n";

int container_write_etc_files(int dirfd, const char *hostname, const char *ip,
			      struct strata_error **err)
{
	struct strbuf sb;
	int ret;

	strbuf_init(&sb, 256);
	strbuf_addf(&sb, "%s\n", hostname);
	ret = fs_write_file_atomic_at(dirfd, "hostname", sb.buf, sb.len, 0644, err);
	strbuf_setlen(&sb, 0);
	strbuf_addstr(&sb, default_hosts);
	if (ip)
		strbuf_addf(&sb, "%s\t%s\n", ip, hostname);
	if (ret == 0)
		ret = fs_write_file_atomic_at(dirfd, "hosts", sb.buf, sb.len, 0644, err);
	strbuf_release(&sb);
	return ret;
}
