/* Docker's distribution metadata: diffid-by-digest and v2metadata-by-diffid. */
#include <errno.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "image/distribution.h"
#include "json/gojson.h"
#include "store/layout.h"
#include "store/store-private.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define V2META_MAX (4u << 20)
#define V2META_MAX_ENTRIES 10000

static int need_image_dir(struct strata_store *store, struct strata_error **err)
{
	if (store->image_fd < 0)
		return strata_error_set(err, STRATA_ERR_NOT_FOUND, 0, "the store has no image folder");
	return 0;
}

int distribution_diffid_get(struct strata_store *store, const char *blob_digest,
			    char diff_id[STRATA_DIGEST_LEN + 1], struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	_cleanup_free_ char *buf = NULL;
	struct strata_error *e = NULL;
	const char *hex;
	size_t len;
	int ret;

	*diff_id = '\0';
	if ((ret = digest_parse(blob_digest, &hex, "blob digest", err)) < 0)
		return ret;
	if (store->image_fd < 0)
		return 0;
	ret = layout_diffid_by_digest(&path, hex, err);
	if (ret < 0)
		return ret;
	ret = fs_read_file_at(store->image_fd, path.buf, 4096, &buf, &len, &e);
	if (ret < 0) {
		if (ret == -STRATA_ERR_NOT_FOUND) {
			strata_error_free(e);
			return 0;
		}
		return strata_error_propagate(err, e);
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (!digest_valid(buf))
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "'%s' does not hold a digest", path.buf);
	memcpy(diff_id, buf, STRATA_DIGEST_LEN + 1);
	return 0;
}

int distribution_diffid_set(struct strata_store *store, const char *blob_digest,
			    const char *diff_id, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	const char *hex, *dhex;
	int ret;

	if ((ret = digest_parse(blob_digest, &hex, "blob digest", err)) < 0 ||
	    (ret = digest_parse(diff_id, &dhex, "diff ID", err)) < 0 ||
	    (ret = need_image_dir(store, err)) < 0 ||
	    (ret = layout_mkdir(store->image_fd, LAYOUT_DIFFID_BY_DIGEST, err)) < 0 ||
	    (ret = layout_diffid_by_digest(&path, hex, err)) < 0)
		return ret;
	return fs_write_file_atomic_at(store->image_fd, path.buf, diff_id, strlen(diff_id), 0644, err);
}

void distribution_v2metadata_free(struct v2metadata *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].digest);
		free(m[i].source_repository);
		free(m[i].hmac);
	}
	free(m);
}

int distribution_v2metadata_get(struct strata_store *store, const char *diff_id,
				struct v2metadata **out, size_t *n, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf path = STRBUF_INIT;
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *arr = NULL;
	struct v2metadata *m = NULL;
	struct strata_error *rerr = NULL;
	const char *hex;
	size_t len, i, cnt = 0;
	int ret;

	*out = NULL;
	*n = 0;
	if ((ret = digest_parse(diff_id, &hex, "diff ID", err)) < 0)
		return ret;
	if (store->image_fd < 0)
		return 0;
	ret = layout_v2metadata_by_diffid(&path, hex, err);
	if (ret < 0)
		return ret;
	ret = fs_read_file_at(store->image_fd, path.buf, V2META_MAX, &buf, &len, &rerr);
	if (ret < 0) {
		if (ret == -STRATA_ERR_NOT_FOUND) {
			strata_error_free(rerr);
			return 0;
		}
		return strata_error_propagate(err, rerr);
	}
	ret = gojson_parse(buf, len, path.buf, &arr, err);
	if (ret < 0)
		return ret;
	if (json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > V2META_MAX_ENTRIES)
		return strata_error_set(err, STRATA_ERR_CORRUPT, 0, "'%s' is not a metadata list", path.buf);
	m = xcalloc(json_array_size(arr) + 1, sizeof(*m));
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const char *d = gojson_get_string(e, "Digest");
		const char *r = gojson_get_string(e, "SourceRepository");
		const char *h = gojson_get_string(e, "HMAC");

		if (!d || !r || !digest_valid(d))
			continue; /* dockerd would fail on it; skipping is harmless */
		m[cnt].digest = xstrdup(d);
		m[cnt].source_repository = xstrdup(r);
		m[cnt].hmac = xstrdup(h ? h : "");
		cnt++;
	}
	*out = m;
	*n = cnt;
	return 0;
}

static void encode_list(struct strbuf *sb, const struct v2metadata *m, size_t n)
{
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addstr(sb, "{\"Digest\":");
		gojson_encode_string(sb, m[i].digest, strlen(m[i].digest));
		strbuf_addstr(sb, ",\"SourceRepository\":");
		gojson_encode_string(sb, m[i].source_repository, strlen(m[i].source_repository));
		strbuf_addstr(sb, ",\"HMAC\":");
		gojson_encode_string(sb, m[i].hmac, strlen(m[i].hmac));
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
}

int distribution_v2metadata_add(struct strata_store *store, const char *diff_id,
				const struct v2metadata *entry, struct strata_error **err)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT, path = STRBUF_INIT;
	struct v2metadata *m = NULL;
	const char *hex;
	size_t n = 0, i;
	int ret;

	if ((ret = digest_parse(diff_id, &hex, "diff ID", err)) < 0 ||
	    (ret = digest_parse(entry->digest, &hex, "blob digest", err)) < 0 ||
	    (ret = need_image_dir(store, err)) < 0)
		return ret;
	hex = diff_id + 7;
	ret = distribution_v2metadata_get(store, diff_id, &m, &n, err);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++)
		if (!strcmp(m[i].digest, entry->digest) &&
		    !strcmp(m[i].source_repository, entry->source_repository))
			break;
	if (i < n) {
		const char *h = entry->hmac ? entry->hmac : "";

		if (!strcmp(m[i].hmac, h)) {
			distribution_v2metadata_free(m, n);
			return 0; /* nothing changes */
		}
		free(m[i].hmac);
		m[i].hmac = xstrdup(h);
	} else {
		m = xrealloc(m, (n + 1) * sizeof(*m));
		m[n].digest = xstrdup(entry->digest);
		m[n].source_repository = xstrdup(entry->source_repository);
		m[n].hmac = xstrdup(entry->hmac ? entry->hmac : "");
		n++;
	}
	encode_list(&sb, m, n);
	distribution_v2metadata_free(m, n);
	if ((ret = layout_mkdir(store->image_fd, LAYOUT_V2METADATA_BY_DIFFID, err)) < 0 ||
	    (ret = layout_v2metadata_by_diffid(&path, hex, err)) < 0)
		return ret;
	return fs_write_file_atomic_at(store->image_fd, path.buf, sb.buf, sb.len, 0644, err);
}

void distribution_hmac_key(const char *auth_config_json, char key[STRATA_DIGEST_LEN + 1])
{
	const char *j = auth_config_json && *auth_config_json ? auth_config_json : "{}";

	memcpy(key, "sha256:", 7);
	sha256_hex(j, strlen(j), key + 7);
}

void distribution_hmac(const char *key, const char *digest, const char *source_repository,
		       char hex[STRATA_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	_cleanup_free_ char *msg = xasprintf("%s%s", digest, source_repository);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;

	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac, &mlen);
	for (unsigned int i = 0; i < 32 && i < mlen; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[64] = '\0';
	explicit_bzero(msg, strlen(msg));
}

char *distribution_auth_config_json(const char *username, const char *password,
				    const char *identity_token, const char *server_address)
{
	struct strbuf sb = STRBUF_INIT;
	const char *names[] = { "username", "password", "serveraddress", "identitytoken" };
	const char *values[] = { username, password, server_address, identity_token };
	bool any = false;

	if (!(username && *username) && !(password && *password) &&
	    !(identity_token && *identity_token))
		return xstrdup("{}");
	strbuf_addch(&sb, '{');
	for (size_t i = 0; i < 4; i++) {
		if (!values[i] || !*values[i])
			continue;
		if (any)
			strbuf_addch(&sb, ',');
		any = true;
		strbuf_addch(&sb, '"');
		strbuf_addstr(&sb, names[i]);
		strbuf_addstr(&sb, "\":");
		gojson_encode_string(&sb, values[i], strlen(values[i]));
	}
	strbuf_addch(&sb, '}');
	return strbuf_detach(&sb, NULL);
}
