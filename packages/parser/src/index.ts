export type { Arg, ConfigFile, Directive } from './ast.js';
export { diag, placeSuffix, type Diagnostic, type Severity } from './diagnostic.js';
export { parseText } from './parser.js';
export { tokenize, unescape } from './lexer.js';
export { print } from './print.js';
export { toCrossplane, type CrossplanePayload } from './crossplane.js';
export { checkConfig, normalizePrefix, type CheckOptions, type CheckResult, type LoadedConfig } from './check/index.js';
export { isEmerg } from './check/walker.js';
export { nodeFs, type ConfigFs } from './check/files.js';
export {
  DIRECTIVES,
  DIRECTIVES_BY_NAME,
  specFor,
  argCountOk,
  suggestDirective,
  type ArgRule,
  type Context,
  type DirectiveSpec,
  type Slot,
  type Status,
} from './directives/index.js';
export { parseFlag, parseNumber, parseOffset, parseSize, parseTime } from './values.js';
export { translateRegex, type CompiledRegex, type RegexResult } from './regex.js';
export { parseIfCondition, type IfCondition } from './check/if-condition.js';
export { scriptRefs } from './check/script.js';
export { parseListen, parseUrlHostPort, type ListenSpec, type HostPort } from './check/listen.js';
export { BUILTIN_VARIABLES, VARIABLE_PREFIXES } from './check/builtin-variables.js';
export { compatibilityReport } from './report.js';
