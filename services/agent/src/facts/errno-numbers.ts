/**
 * Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h; ENOTSUPP from the
 * kernel-internal include/linux/errno.h), by the canonical names the kernel model uses.
 */
const ERRNO_NUMBERS: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  ELOOP: 40,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
};

/** The errno value of a name; a name this table lacks is a bug in the caller (thrown). */
export const errnoNumber = (name: string): number => {
  const value = ERRNO_NUMBERS[name];
  if (value === undefined) throw new RangeError(`unknown errno name ${name}`);
  return value;
};
