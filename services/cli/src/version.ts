/**
 * The version `tramway --version` prints: services/cli/package.json's, kept here as a constant so
 * that printing it reads no file (a test checks the two agree).
 */
export const CLI_VERSION = '0.1.0';
