// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * fmod_ret on an LSM hook: refuses exec (security_bprm_check) with -EPERM for the command name
 * set in `deny_comm` before load, and counts the calls seen and the calls refused per cookie.
 * fmod_ret works on security_* hooks even where error injection is compiled out (Debian 6.1);
 * attach it to `security_bprm_check` (or another int-returning security_* hook).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1
#define COMM_LEN 16

/* The command to refuse, set by the loader before load (.rodata); empty: refuse nothing. */
const volatile char deny_comm[COMM_LEN] = {};

struct verdicts {
	__u64 seen;
	__u64 denied;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct verdicts);
} verdicts SEC(".maps");

static __always_inline int comm_matches(const char *comm)
{
	if (deny_comm[0] == 0)
		return 0;
	for (int i = 0; i < COMM_LEN; i++) {
		if (comm[i] != deny_comm[i])
			return 0;
		if (comm[i] == 0)
			return 1;
	}
	return 1;
}

SEC("fmod_ret/security_bprm_check")
int BPF_PROG(deny_exec, void *bprm, int ret)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct verdicts zero = {}, *v;
	char comm[COMM_LEN];

	v = bpf_map_lookup_elem(&verdicts, &cookie);
	if (!v) {
		bpf_map_update_elem(&verdicts, &cookie, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&verdicts, &cookie);
		if (!v)
			return ret;
	}
	__sync_fetch_and_add(&v->seen, 1);
	/* an earlier program or hook refused already: keep its answer */
	if (ret != 0)
		return ret;
	bpf_get_current_comm(comm, sizeof(comm));
	if (!comm_matches(comm))
		return 0;
	__sync_fetch_and_add(&v->denied, 1);
	return -EPERM;
}

char LICENSE[] SEC("license") = "GPL";
