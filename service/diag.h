/*
 * diag: the diagnostic job kind "diagnostic.sleep". It exists to exercise
 * the job engine (progress, checkpoints, cancel, retries, takeover after a
 * crash) and touches no data: it sleeps in steps and checkpoints after
 * each one. Admin-only over HTTP.
 */
#ifndef PARTD_DIAG_H
#define PARTD_DIAG_H

#include "job.h"

extern const struct job_kind diag_sleep_kind;

#endif
