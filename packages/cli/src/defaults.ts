/**
 * nxproxy's compiled-in paths. They follow Debian's nginx build (the oracle) so that a config
 * written for /etc/nginx resolves the same way; only the pid file differs, so that nxproxy and a
 * real nginx can run side by side.
 */
export const VERSION = '0.1.0';
export const NGINX_COMPAT = '1.22.1';
export const DEFAULT_PREFIX = '/usr/share/nginx/';
export const DEFAULT_CONF = '/etc/nginx/nginx.conf';
export const DEFAULT_PID = '/run/nxproxy.pid';
export const DEFAULT_ERROR_LOG = 'stderr';
