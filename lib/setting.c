#include <stddef.h>

#include "config.h"
#include "opt.h"
#include "setting.h"

int
rag_setting_double(const char *name, double min, double max, double def,
    double *out, bool *set, struct rag_error *err)
{
	const char *v = rag_config_get(name);

	if (set != NULL)
		*set = v != NULL && *v != '\0';
	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (rag_parse_double(v, min, max, out) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not a "
		    "number from %.15g to %.15g", name, v, min, max);
	return 0;
}

int
rag_setting_long(const char *name, long min, long max, long def, long *out,
    struct rag_error *err)
{
	const char *v = rag_config_get(name);
	long long x;

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (rag_parse_ll(v, min, max, &x) != 0)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not a "
		    "whole number from %ld to %ld", name, v, min, max);
	*out = (long)x;
	return 0;
}

int
rag_setting_seconds(const char *name, double min, double max, double def,
    double *out, struct rag_error *err)
{
	const char *v = rag_config_get(name);

	if (v == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	if (rag_parse_seconds(v, out) != 0 || *out < min || *out > max)
		return rag_error_set(err, RAG_EXIT_USAGE, "%s: '%s' is not a "
		    "duration from %.15g to %.15g seconds (e.g. '30', '1.5', "
		    "'2m')", name, v, min, max);
	return 0;
}
