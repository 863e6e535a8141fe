import type { Errno } from '@tramway/shared/kernel';

/** Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h) of the model's errno names. */
export const ERRNO_NUMBERS: Readonly<Record<Errno, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  EOPNOTSUPP: 95,
};
