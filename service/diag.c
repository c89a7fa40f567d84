#include "diag.h"

#include <stdio.h>
#include <string.h>

#include "ident.h"

struct diag_int_field {
	const char *name;
	json_int_t min, max, fallback; /* fallback 0: no default, field optional */
};

static const struct diag_int_field diag_int_fields[] = {
	{"steps", 1, 100000, 10},
	{"step_ms", 0, 600000, 1000},
	{"fail_at_step", 1, 100000, 0},
	{"fail_attempts", 1, 100, 1},
};

#define N_INT_FIELDS (sizeof(diag_int_fields) / sizeof(diag_int_fields[0]))

static bool diag_sleep_validate(const json_t *params, json_t **out, char *table, size_t tablelen,
				struct svc_error *err)
{
	struct qualified_name qn;
	char why[256];
	const char *key;
	json_t *value, *norm;
	size_t i;

	norm = json_object();
	if (!norm)
		return svc_fail(err, SVC_INTERNAL, "out of memory");
	table[0] = '\0';
	json_object_foreach((json_t *)params, key, value) {
		for (i = 0; i < N_INT_FIELDS; i++)
			if (strcmp(key, diag_int_fields[i].name) == 0)
				break;
		if (i < N_INT_FIELDS) {
			const struct diag_int_field *f = &diag_int_fields[i];
			if (!json_is_integer(value) || json_integer_value(value) < f->min ||
			    json_integer_value(value) > f->max) {
				json_decref(norm);
				return svc_field(err, key, "%s must be a whole number from %lld to %lld",
						 key, (long long)f->min, (long long)f->max);
			}
			json_object_set(norm, key, value);
		} else if (strcmp(key, "table") == 0) {
			if (!json_is_string(value) ||
			    !ident_parse_table(json_string_value(value), &qn, why, sizeof(why))) {
				json_decref(norm);
				return svc_field(err, "table", "table: %s",
						 json_is_string(value) ? why : "must be a string");
			}
			ident_format(&qn, table, tablelen);
			json_object_set_new(norm, "table", json_string(table));
		} else {
			json_decref(norm);
			return svc_field(err, key,
					 "unknown field '%.64s'; expected steps, step_ms, table, "
					 "fail_at_step or fail_attempts",
					 key);
		}
	}
	for (i = 0; i < N_INT_FIELDS; i++)
		if (diag_int_fields[i].fallback && !json_object_get(norm, diag_int_fields[i].name))
			json_object_set_new(norm, diag_int_fields[i].name,
					    json_integer(diag_int_fields[i].fallback));
	*out = norm;
	return true;
}

static enum job_outcome diag_sleep_run(struct job_ctx *ctx)
{
	const json_t *params = job_params(ctx), *cp = job_checkpoint(ctx);
	json_int_t steps = json_integer_value(json_object_get(params, "steps"));
	json_int_t step_ms = json_integer_value(json_object_get(params, "step_ms"));
	json_int_t fail_at = json_integer_value(json_object_get(params, "fail_at_step"));
	json_int_t fail_attempts = json_integer_value(json_object_get(params, "fail_attempts"));
	json_int_t start = cp ? json_integer_value(json_object_get(cp, "step")) : 0, step;

	if (start > 0)
		job_event(ctx, JOB_EVENT_INFO, json_pack("{s:I}", "step", start),
			  "resuming from the checkpoint after step %lld", (long long)start);
	if (!job_save(ctx, "sleeping", start, steps, "steps", NULL))
		return JOB_STOPPED;
	for (step = start + 1; step <= steps; step++) {
		if (!job_sleep_ms(ctx, (long)step_ms))
			return JOB_STOPPED;
		if (step == fail_at && job_attempt(ctx) <= fail_attempts)
			return job_fail(ctx, JOB_RETRY, NULL, "Diagnostic failure",
					"step %lld failed on purpose (fail_at_step) in attempt %d",
					(long long)step, job_attempt(ctx));
		if (!job_save(ctx, "sleeping", step, steps, "steps", json_pack("{s:I}", "step", step)))
			return JOB_STOPPED;
	}
	job_set_result(ctx, json_pack("{s:I, s:I}", "steps", steps, "resumed_from_step", start));
	return JOB_DONE;
}

const struct job_kind diag_sleep_kind = {
	.name = "diagnostic.sleep",
	.max_attempts = 3,
	.validate = diag_sleep_validate,
	.run = diag_sleep_run,
};
