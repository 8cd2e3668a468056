/* The error object: set, wrap, propagate, recode; first error wins; NULL err. */
#include <errno.h>
#include <stdlib.h>

#include "strata/error.h"
#include "tap.h"

static int fails_not_found(const char *path, struct strata_error **err)
{
	return strata_error_set(err, STRATA_ERR_NOT_FOUND, ENOENT, "open '%s'", path);
}

/* Tries a primary source, falls back on NOT_FOUND, hands any other error up. */
static int with_fallback(enum strata_errcode primary, struct strata_error **err)
{
	struct strata_error *e = NULL;
	int ret = strata_error_set(&e, primary, 0, "primary");

	if (ret == -STRATA_ERR_NOT_FOUND) {
		strata_error_free(e);
		return strata_error_set(err, STRATA_ERR_INVALID, 0, "fallback");
	}
	return strata_error_propagate(err, e);
}

int main(void)
{
	struct strata_error *err = NULL;
	int ret;

	/* set */
	ret = strata_error_set(&err, STRATA_ERR_CORRUPT, 0, "layer %s is damaged", "sha256:ab");
	ok(ret == -STRATA_ERR_CORRUPT, "set returns -code");
	ok(err && err->code == STRATA_ERR_CORRUPT && err->sys_errno == 0, "set records code and errno");
	is_str(err ? err->msg : NULL, "layer sha256:ab is damaged", "set formats the message");
	ret = strata_error_set(&err, STRATA_ERR_IO, EIO, "second");
	ok(ret == -STRATA_ERR_IO, "set on a held error still returns its own -code");
	ok(err->code == STRATA_ERR_CORRUPT, "set keeps the first error's code");
	is_str(err->msg, "layer sha256:ab is damaged", "set keeps the first error's message");
	strata_error_freep(&err);
	ok(err == NULL, "freep leaves NULL");

	ret = fails_not_found("/x/y", &err);
	ok(ret == -STRATA_ERR_NOT_FOUND && err->sys_errno == ENOENT, "set with errno");
	is_str(err->msg, "open '/x/y': no such file or directory", "set appends strerror");

	/* wrap */
	ret = strata_error_wrap(&err, "layer %d", 3);
	ok(ret == -STRATA_ERR_NOT_FOUND, "wrap returns the held -code");
	is_str(err->msg, "layer 3: open '/x/y': no such file or directory", "wrap prepends context");
	ok(err->code == STRATA_ERR_NOT_FOUND && err->sys_errno == ENOENT, "wrap keeps code and errno");

	/* recode */
	ret = strata_error_recode(&err, STRATA_ERR_CORRUPT);
	ok(ret == -STRATA_ERR_CORRUPT && err->code == STRATA_ERR_CORRUPT, "recode changes the code");
	is_str(err->msg, "layer 3: open '/x/y': no such file or directory", "recode keeps the message");
	strata_error_freep(&err);

	/* propagate */
	ret = with_fallback(STRATA_ERR_NOT_FOUND, &err);
	ok(ret == -STRATA_ERR_INVALID && err && err->code == STRATA_ERR_INVALID,
	   "a local error is dropped on fallback");
	is_str(err ? err->msg : NULL, "fallback", "the fallback's error reaches the caller");
	strata_error_freep(&err);
	ret = with_fallback(STRATA_ERR_AUTH, &err);
	ok(ret == -STRATA_ERR_AUTH && err && err->code == STRATA_ERR_AUTH, "propagate hands the local error up");
	is_str(err ? err->msg : NULL, "primary", "propagate keeps its message");
	ret = with_fallback(STRATA_ERR_NET, &err);
	ok(ret == -STRATA_ERR_NET, "propagate onto a held error returns the local -code");
	ok(err->code == STRATA_ERR_AUTH, "propagate does not replace the caller's error");
	strata_error_freep(&err);
	ok(strata_error_propagate(&err, NULL) == -STRATA_ERR_IO && !err, "propagate of no error");

	/* NULL err: the caller ignores errors, the codes still come back */
	ok(strata_error_set(NULL, STRATA_ERR_BUSY, 0, "x") == -STRATA_ERR_BUSY, "set with NULL err");
	ok(strata_error_wrap(NULL, "ctx") == -STRATA_ERR_IO, "wrap with NULL err");
	ok(strata_error_recode(NULL, STRATA_ERR_EXISTS) == -STRATA_ERR_EXISTS, "recode with NULL err");
	ok(with_fallback(STRATA_ERR_AUTH, NULL) == -STRATA_ERR_AUTH, "propagate with NULL err");
	ok(strata_error_wrap(&err, "ctx") == -STRATA_ERR_IO && !err, "wrap with no error held");
	ok(strata_error_recode(&err, STRATA_ERR_EXISTS) == -STRATA_ERR_EXISTS && !err,
	   "recode with no error held");
	/* a crash here fails the test binary */
	strata_error_freep(NULL);
	strata_error_free(NULL);
	return tap_done();
}
