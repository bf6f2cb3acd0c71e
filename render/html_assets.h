/* SPDX-License-Identifier: MIT */
/*
 * The HTML report page, embedded at build time by scripts/embed.py from html/report.html,
 * html/viewer.css and the files of html/viewer/. The page is split where the payload element
 * goes: write head, then <script type="application/octet-stream" id="pyi-data" data-encoding="...">
 * payload </script>, then tail. The payload format is in docs/html-report.md.
 */
#ifndef PYINST_HTML_ASSETS_H
#define PYINST_HTML_ASSETS_H

#include <stddef.h>

/* Bytes of the page before the payload element (NUL-terminated; len excludes the NUL). */
const char *html_assets_report_head(size_t *len);
/* Bytes of the page after the payload element. */
const char *html_assets_report_tail(size_t *len);

#endif /* PYINST_HTML_ASSETS_H */
