/**
 * The shape of one entry of the directive table. The vocabulary mirrors nginx's ngx_command_t
 * (contexts are the NGX_*_CONF flags, `args` the NGX_CONF_TAKE* / FLAG / 1MORE masks) so every
 * entry can be checked against nginx's own module sources.
 */
export type Context =
  | 'main' // NGX_MAIN_CONF (top level)
  | 'events' // NGX_EVENT_CONF
  | 'http' // NGX_HTTP_MAIN_CONF
  | 'server' // NGX_HTTP_SRV_CONF
  | 'location' // NGX_HTTP_LOC_CONF
  | 'upstream' // NGX_HTTP_UPS_CONF
  | 'sif' // NGX_HTTP_SIF_CONF: "if" at server level
  | 'lif' // NGX_HTTP_LIF_CONF: "if" in a location
  | 'lmt' // NGX_HTTP_LMT_CONF: limit_except
  | 'any'; // NGX_ANY_CONF (include)

/** nginx's argument-count masks. */
export type ArgRule =
  | 'NOARGS'
  | 'TAKE1'
  | 'TAKE2'
  | 'TAKE3'
  | 'TAKE4'
  | 'TAKE5'
  | 'TAKE6'
  | 'TAKE7'
  | 'TAKE12'
  | 'TAKE13'
  | 'TAKE23'
  | 'TAKE123'
  | 'TAKE1234'
  | 'NOARGS_TAKE1' // NGX_CONF_NOARGS|NGX_CONF_TAKE1 (stub_status)
  | 'NOARGS_TAKE12' // NGX_CONF_NOARGS|NGX_CONF_TAKE12 (random)
  | 'FLAG'
  | '1MORE'
  | '2MORE'
  | 'ANY';

/**
 * How nginx stores the value; for the standard ngx_conf_set_*_slot setters this alone fixes the
 * value check and its error wording, and whether a second occurrence is "is duplicate".
 */
export type Slot =
  | 'flag' // ngx_conf_set_flag_slot
  | 'str' // ngx_conf_set_str_slot
  | 'str_array' // ngx_conf_set_str_array_slot (repeatable)
  | 'keyval' // ngx_conf_set_keyval_slot (repeatable)
  | 'num' // ngx_conf_set_num_slot
  | 'size' // ngx_conf_set_size_slot
  | 'off' // ngx_conf_set_off_slot
  | 'msec' // ngx_conf_set_msec_slot
  | 'sec' // ngx_conf_set_sec_slot
  | 'bufs' // ngx_conf_set_bufs_slot: "NUMBER SIZE"
  | 'enum' // ngx_conf_set_enum_slot
  | 'bitmask' // ngx_conf_set_bitmask_slot
  | 'path' // ngx_conf_set_path_slot (temp paths)
  | 'access' // ngx_conf_set_access_slot (user:rw group:r ...)
  | 'custom'; // a module-specific handler

/** What nxproxy does with the directive. */
export type Status = 'implemented' | 'no-effect' | 'unimplemented';

export interface DirectiveSpec {
  name: string;
  /** nginx module that declares it, e.g. "ngx_http_proxy_module". */
  module: string;
  contexts: readonly Context[];
  args: ArgRule;
  /** NGX_CONF_BLOCK: a block follows. 'raw' blocks hold entries that are not directives (types, map, geo, ...). */
  block?: 'directives' | 'raw';
  slot: Slot;
  /** Values allowed for enum/bitmask slots, in nginx's order. */
  values?: readonly string[];
  /** Post-handler bounds (ngx_conf_check_num_bounds), e.g. { min: 1 }. */
  bounds?: { min?: number; max?: number };
  status: Status;
  /** Unimplemented and its absence would widen access: starting with it must fail closed. */
  guardsAccess?: boolean;
  /** One-line description (from nginx's reference) for docs and the compatibility report. */
  description?: string;
}
