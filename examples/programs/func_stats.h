/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Call count and latency per traced function, keyed by the attach cookie the policy gives each
 * target (spec.targets[].cookie). Shared by func_stats.bpf.c (one fentry/fexit link per
 * function) and func_stats_multi.bpf.c (one tracing multi-link over every function).
 *
 * Only fixed-size integer types are used, so the object's own BTF does not depend on the kernel
 * the vmlinux.h was dumped from: build.sh gives the same bytes against any kernel's BTF.
 */
#ifndef TRAMWAY_FUNC_STATS_H
#define TRAMWAY_FUNC_STATS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_FUNCS 8192
#define MAX_IN_FLIGHT 65536

/* What a reader of the `stats` map sees per cookie. */
struct func_stats {
	__u64 calls;
	__u64 returns;
	__u64 total_ns;
	__u64 max_ns;
};

/* A call in flight: the thread and the cookie of the function it entered. */
struct call_key {
	__u64 pid_tgid;
	__u64 cookie;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_FUNCS);
	__type(key, __u64);
	__type(value, struct func_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_IN_FLIGHT);
	__type(key, struct call_key);
	__type(value, __u64);
} started SEC(".maps");

static __always_inline struct func_stats *stats_of(__u64 cookie)
{
	struct func_stats *s = bpf_map_lookup_elem(&stats, &cookie);

	if (s)
		return s;
	struct func_stats zero = {};

	bpf_map_update_elem(&stats, &cookie, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&stats, &cookie);
}

/* On entry: count the call and remember when it started. */
static __always_inline int on_entry(void *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct func_stats *s = stats_of(cookie);
	struct call_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .cookie = cookie };
	__u64 now = bpf_ktime_get_ns();

	if (s)
		__sync_fetch_and_add(&s->calls, 1);
	bpf_map_update_elem(&started, &key, &now, BPF_ANY);
	return 0;
}

/* On exit: the time since the matching entry, added to the total and the maximum. */
static __always_inline int on_exit(void *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct call_key key = { .pid_tgid = bpf_get_current_pid_tgid(), .cookie = cookie };
	__u64 *start = bpf_map_lookup_elem(&started, &key);
	struct func_stats *s;
	__u64 took;

	if (!start)
		return 0;
	took = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&started, &key);
	s = stats_of(cookie);
	if (!s)
		return 0;
	__sync_fetch_and_add(&s->returns, 1);
	__sync_fetch_and_add(&s->total_ns, took);
	if (took > s->max_ns)
		s->max_ns = took;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#endif
