// SPDX-License-Identifier: MIT
/*
 * Renderer options and pyinstrument's `-p KEY=VALUE` syntax (__main__.py): a bare flag is
 * true; a value is read as JSON when it parses, else taken as a string; dotted keys reach into
 * processor_options.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "render.h"

void render_opts_init(struct render_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->processor_options.filter_threshold = 0.01;
	o->time = RENDER_TIME_SECONDS;
	o->flat_time = RENDER_FLAT_TIME_SELF;
}

void render_opts_release(struct render_opts *o)
{
	free(o->owned_hide_regex);
	free(o->owned_show_regex);
	o->owned_hide_regex = o->owned_show_regex = NULL;
	o->processor_options.hide_regex = o->processor_options.show_regex = NULL;
}

/* Python truthiness of a JSON value, as the renderer's `if self.flag:` sees it. */
static int json_truthy(const cJSON *v, const char *key, bool *out)
{
	if (cJSON_IsBool(v) || cJSON_IsNull(v))
		*out = cJSON_IsTrue(v);
	else if (cJSON_IsNumber(v))
		*out = v->valuedouble != 0;
	else if (cJSON_IsString(v))
		*out = v->valuestring[0] != '\0';
	else
		goto bad;
	return 0;
bad:
	pr_err("render option %s: expected true or false", key);
	return -EINVAL;
}

static int set_string(char **owned, const char **slot, const cJSON *v, const char *key)
{
	char *copy;

	if (cJSON_IsNull(v)) {
		free(*owned);
		*owned = NULL;
		*slot = NULL;
		return 0;
	}
	if (!cJSON_IsString(v)) {
		pr_err("render option %s: expected a string", key);
		return -EINVAL;
	}
	copy = strdup(v->valuestring);
	if (!copy)
		return -ENOMEM;
	free(*owned);
	*owned = copy;
	*slot = copy;
	return 0;
}

static int set_processor_option(struct render_opts *o, const char *key, const cJSON *v)
{
	struct processor_options *p = &o->processor_options;

	if (!strcmp(key, "filter_threshold")) {
		if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
			pr_err("render option processor_options.filter_threshold: "
			       "expected a number");
			return -EINVAL;
		}
		p->filter_threshold = v->valuedouble;
		return 0;
	}
	if (!strcmp(key, "hide_regex"))
		return set_string(&o->owned_hide_regex, &p->hide_regex, v, key);
	if (!strcmp(key, "show_regex"))
		return set_string(&o->owned_show_regex, &p->show_regex, v, key);
	pr_err("unknown processor option '%s' (known: filter_threshold, hide_regex, show_regex)",
	       key);
	return -EINVAL;
}

static int set_choice(int *slot, const cJSON *v, const char *key, const char *a, const char *b)
{
	if (cJSON_IsString(v) && !strcmp(v->valuestring, a)) {
		*slot = 0;
		return 0;
	}
	if (cJSON_IsString(v) && !strcmp(v->valuestring, b)) {
		*slot = 1;
		return 0;
	}
	pr_err("render option %s: expected %s or %s", key, a, b);
	return -EINVAL;
}

static int set_value(struct render_opts *o, const char *key, const cJSON *v)
{
	const struct {
		const char *name;
		bool *slot;
	} flags[] = {
		{ "show_all", &o->show_all }, { "timeline", &o->timeline },
		{ "unicode", &o->unicode }, { "color", &o->color },
		{ "flat", &o->flat }, { "short_mode", &o->short_mode },
	};
	const cJSON *it;
	int choice, err = 0;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(key, flags[i].name))
			return json_truthy(v, key, flags[i].slot);
	if (!strcmp(key, "time") || !strcmp(key, "flat_time")) {
		bool is_time = key[0] == 't';

		err = set_choice(&choice, v, key, is_time ? "seconds" : "self",
				 is_time ? "percent_of_total" : "total");
		if (!err && is_time)
			o->time = choice ? RENDER_TIME_PERCENT_OF_TOTAL : RENDER_TIME_SECONDS;
		else if (!err)
			o->flat_time = choice ? RENDER_FLAT_TIME_TOTAL : RENDER_FLAT_TIME_SELF;
		return err;
	}
	if (!strncmp(key, "processor_options.", 18))
		return set_processor_option(o, key + 18, v);
	if (!strcmp(key, "processor_options") && cJSON_IsObject(v)) {
		cJSON_ArrayForEach(it, v)
			if (!err)
				err = set_processor_option(o, it->string, it);
		return err;
	}
	pr_err("unknown render option '%s' (known: show_all, timeline, unicode, color, flat, time, "
	       "flat_time, short_mode, processor_options.KEY)", key);
	return -EINVAL;
}

int render_opts_set(struct render_opts *o, const char *key_value)
{
	const char *eq = strchr(key_value, '=');
	char *key = eq ? strndup(key_value, (size_t)(eq - key_value)) : strdup(key_value);
	cJSON *v;
	int err;

	if (!key)
		return -ENOMEM;
	/* json.loads(value), falling back to the plain string */
	v = eq ? cJSON_ParseWithOpts(eq + 1, NULL, true) : cJSON_CreateTrue();
	if (!v && eq)
		v = cJSON_CreateString(eq + 1);
	err = v ? set_value(o, key, v) : -ENOMEM;
	cJSON_Delete(v);
	free(key);
	return err;
}
