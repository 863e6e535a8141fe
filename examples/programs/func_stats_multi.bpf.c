// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Call count and latency per function through one tracing multi-link (BPF_TRACE_FENTRY_MULTI /
 * FEXIT_MULTI, Linux 7.2+). A multi program is loaded against `bpf_multi_func(void)`: it reads
 * nothing from its context directly, only through helpers (bpf_get_attach_cookie here;
 * bpf_get_func_arg, bpf_get_func_ret and bpf_get_func_ip for arguments, return and address).
 */
#include "func_stats.h"

/* The first argument and the return value of the last call seen per cookie (a sample). */
struct last_call {
	__u64 ip;
	__u64 arg0;
	__u64 ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FUNCS);
	__type(key, __u64);
	__type(value, struct last_call);
} last SEC(".maps");

SEC("fentry.multi")
int stats_entry(void *ctx)
{
	struct last_call call = { .ip = bpf_get_func_ip(ctx) };
	__u64 cookie = bpf_get_attach_cookie(ctx);

	bpf_get_func_arg(ctx, 0, &call.arg0);
	bpf_map_update_elem(&last, &cookie, &call, BPF_ANY);
	return on_entry(ctx);
}

SEC("fexit.multi")
int stats_exit(void *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct last_call *call = bpf_map_lookup_elem(&last, &cookie);

	if (call)
		bpf_get_func_ret(ctx, &call->ret);
	return on_exit(ctx);
}
