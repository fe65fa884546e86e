/* setting: numbers and durations read from settings (config.h), checked against their ranges. */
#ifndef RAG_SETTING_H
#define RAG_SETTING_H

#include <stdbool.h>

#include "error.h"

/*
 * Each reads the setting `name` through rag_config_get().  An unset or
 * empty setting gives def; a value outside [min, max] or not a number is
 * an error: -1 with err set to RAG_EXIT_USAGE and a message naming the
 * setting, its value and the accepted range.  Returns 0 otherwise.
 */

/* A number ("0.7", "1e3"); *set (when not NULL) says whether one was given. */
int rag_setting_double(const char *name, double min, double max, double def,
    double *out, bool *set, struct rag_error *err);

/* A whole number. */
int rag_setting_long(const char *name, long min, long max, long def,
    long *out, struct rag_error *err);

/* A duration in seconds: "30", "1.5", "2m" (rag_parse_seconds in opt.h). */
int rag_setting_seconds(const char *name, double min, double max, double def,
    double *out, struct rag_error *err);

/*
 * Checks every numeric and enumerated RAG_* setting that is set, whether or
 * not the configured providers read it: 0, or -1 with err (RAG_EXIT_USAGE)
 * naming the first bad one.
 */
int rag_settings_check(struct rag_error *err);

#endif
