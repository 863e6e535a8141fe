// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Call count and latency per function, one fentry and one fexit link per traced function (the
 * ladder's second step, every kernel since 5.5; cookies since 5.19). The target of each link is
 * set at attach time, so the sections name none.
 */
#include "func_stats.h"

SEC("fentry")
int BPF_PROG(stats_fentry)
{
	return on_entry(ctx);
}

SEC("fexit")
int BPF_PROG(stats_fexit)
{
	return on_exit(ctx);
}
