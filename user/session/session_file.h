/* SPDX-License-Identifier: MIT */
/* What the .pyisession writer (session_save.c) and loader (session_load.c) share. */
#ifndef PYINST_SESSION_FILE_H
#define PYINST_SESSION_FILE_H

/* Our own key (struct session_origin), which pyinstrument's loader ignores. */
#define SESSION_ORIGIN_KEY "pyinst_bpf"

#endif
