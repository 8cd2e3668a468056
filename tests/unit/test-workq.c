/* util/workq: every item once, per-thread state, stopping on failure, the background form. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "tap.h"
#include "util/workq.h"

#define ITEMS 200

struct tally {
	atomic_int runs[ITEMS];
	atomic_int states, done_calls, ran;
	int fail_at;             /* item that fails, or -1 */
	pthread_t main_thread;
	atomic_int on_main;
};

static int count(void *cookie, void **state, size_t i)
{
	struct tally *t = cookie;

	if (!*state) { /* first item of this thread */
		*state = t;
		t->states++;
	}
	if (pthread_equal(pthread_self(), t->main_thread))
		t->on_main++;
	t->runs[i]++;
	t->ran++;
	usleep(100);
	return (int)i == t->fail_at ? -1 : 0;
}

static void done(void *cookie, void *state)
{
	struct tally *t = cookie;

	if (state == t)
		t->done_calls++;
}

static void test_every_item_once(size_t threads)
{
	struct tally t = { .fail_at = -1, .main_thread = pthread_self() };
	struct workq_task task = { .fn = count, .done = done, .cookie = &t };
	bool failed, all_once = true;

	failed = workq_run(ITEMS, threads, &task);
	for (size_t i = 0; i < ITEMS; i++)
		all_once &= t.runs[i] == 1;
	ok(!failed && all_once, "%zu thread(s): every item ran exactly once", threads);
	ok(t.states >= 1 && (size_t)t.states <= threads && t.done_calls == t.states,
	   "%zu thread(s): %d worker state(s), each handed to done once", threads, (int)t.states);
	ok(t.on_main > 0, "%zu thread(s): the calling thread works too (%d items)", threads, (int)t.on_main);
}

static void test_stop_on_failure(void)
{
	struct tally t = { .fail_at = 0, .main_thread = pthread_self() };
	struct workq_task task = { .fn = count, .cookie = &t, .stop_on_failure = true };
	bool failed = workq_run(ITEMS, 2, &task);

	ok(failed, "a failing item marks the run failed");
	ok(t.ran < ITEMS, "no further items after the failure (%d of %d ran)", (int)t.ran, ITEMS);
	t = (struct tally){ .fail_at = 0, .main_thread = pthread_self() };
	task.stop_on_failure = false;
	failed = workq_run(ITEMS, 2, &task);
	ok(failed && t.ran == ITEMS, "without stop_on_failure every item still runs (%d)", (int)t.ran);
}

static void test_background(void)
{
	struct tally t = { .fail_at = -1, .main_thread = pthread_self() };
	struct workq_task task = { .fn = count, .done = done, .cookie = &t };
	struct strata_error *err = NULL;
	struct workq *q = NULL;
	bool failed;

	ok(workq_start(ITEMS, 3, &task, &q, &err) == 0 && q, "the background form starts");
	failed = workq_finish(q);
	ok(!failed && t.ran == ITEMS && t.on_main == 0, "it runs every item off the calling thread");
	t = (struct tally){ .fail_at = -1, .main_thread = pthread_self() };
	ok(workq_start(ITEMS, 1, &task, &q, &err) == 0, "started again on one thread");
	workq_stop(q);
	failed = workq_finish(q);
	ok(!failed && t.ran < ITEMS, "stopped at once, it hands out no further items (%d ran)", (int)t.ran);
	ok(workq_start(0, 2, &task, &q, &err) == 0 && !workq_finish(q) && t.ran < ITEMS,
	   "an empty queue starts and finishes");
}

int main(void)
{
	test_every_item_once(1);
	test_every_item_once(4);
	test_stop_on_failure();
	test_background();
	return tap_done();
}
