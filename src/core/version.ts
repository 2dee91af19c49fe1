/** The launcher's version, recorded in logs and dead letters. Kept in step with package.json by a test. */
export const VERSION = '0.1.0';
