/* SPDX-License-Identifier: MIT */
/*
 * The JSON tokenizer the .pyisession loader reads with (json_lex.c). The caller points base, p
 * and end at the text (not NUL-terminated) and err at room for a one-line reason; every function
 * that fails writes that reason and returns -errno (-EINVAL for text that is not JSON).
 */
#ifndef PYINST_JSON_LEX_H
#define PYINST_JSON_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_lex {
	const char *base, *p, *end;	/* the text and the cursor */
	char *err;			/* the reason of the first failure */
	size_t errlen;
	char *buf;			/* a decoded string with escapes */
	size_t len, cap;
};

/* Writes the reason and returns ret. */
int json_fail(struct json_lex *l, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "not valid JSON (error near byte N)" at the cursor. */
int json_syntax_error(struct json_lex *l);
/* A value of the wrong type: the reason is about the type once the value is known to be JSON. */
int json_type_error(struct json_lex *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The next significant byte, or -1 at the end of the text. Inline: the loader asks for every
 * comma and bracket of a file of gigabytes. */
static inline int json_peek(struct json_lex *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\n' || *l->p == '\r' || *l->p == '\t'))
		l->p++;
	return l->p < l->end ? (unsigned char)*l->p : -1;
}

/* Moves past c when it is the next significant byte. */
static inline bool json_eat(struct json_lex *l, char c)
{
	if (json_peek(l) != (unsigned char)c)
		return false;
	l->p++;
	return true;
}

/* A number can start with c (NaN, Infinity and -Infinity included). */
static inline bool json_starts_number(int c)
{
	return c == '-' || (c >= '0' && c <= '9') || c == 'N' || c == 'I';
}

/* Moves past word when the text at the cursor starts with it. */
bool json_lex_word(struct json_lex *l, const char *word);

/* The string whose opening quote is at the cursor: in *str (the text itself when it has no
 * escape, else the lexer's buffer, valid until the next string), its length in *len. */
int json_lex_string(struct json_lex *l, const char **str, size_t *len);
/* The number at the cursor (json_starts_number said so). */
int json_lex_number(struct json_lex *l, double *v);
/* Any JSON value at the cursor, checked and skipped; depth: its nesting so far. */
int json_skip_value(struct json_lex *l, int depth);

void json_lex_release(struct json_lex *l);

#endif
