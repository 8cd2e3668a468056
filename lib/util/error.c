#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/error.h"
#include "util/alloc.h"
#include "util/fs.h"

int strata_error_set(struct strata_error **err, enum strata_errcode code,
		     int sys_errno, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!err || *err)
		return -(int)code;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (sys_errno) {
		char *why = fs_errno_text(sys_errno), *full = xasprintf("%s: %s", msg, why);

		free(why);
		free(msg);
		msg = full;
	}
	*err = xcalloc(1, sizeof(**err));
	(*err)->code = code;
	(*err)->sys_errno = sys_errno;
	(*err)->msg = msg;
	return -(int)code;
}

int strata_error_wrap(struct strata_error **err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *full;

	if (!err || !*err)
		return -STRATA_ERR_IO;
	va_start(ap, fmt);
	ctx = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("%s: %s", ctx, (*err)->msg);
	free(ctx);
	free((*err)->msg);
	(*err)->msg = full;
	return -(int)(*err)->code;
}

void strata_error_free(struct strata_error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

int strata_error_propagate(struct strata_error **err, struct strata_error *e)
{
	int ret;

	if (!e)
		return -STRATA_ERR_IO;
	ret = -(int)e->code;
	if (err && !*err)
		*err = e;
	else
		strata_error_free(e);
	return ret;
}

int strata_error_recode(struct strata_error **err, enum strata_errcode code)
{
	if (err && *err)
		(*err)->code = code;
	return -(int)code;
}
