// Reuse of an existing Reticulum config (RNS 1.4.2, e.g. ~/.reticulum/config): picks the interfaces out of
// its [interfaces] section so that kosd runs the same links as rnsd. Format and rules: ./README.md.
//
// Only [interfaces] is read; [reticulum] and [logging] stay kosd's own. Like rnsd, an interface counts only
// with `enabled = yes` (or `interface_enabled = yes`), so disabled ones are skipped without a word. Enabled
// interfaces of a type kosd does not run yet are skipped with a warning that names their line. The rest go
// through the same checks as kosd's own interfaces (the loader does that), except that unknown keys warn,
// since rnsd ignores them too.
import { parseConfig, type ConfigSection, type ParseIssue } from "./parse.js";
import { RETICULUM_ONLY_INTERFACE_TYPES, SUPPORTED_INTERFACE_TYPES, parseBool, shown } from "./schema.js";

export interface ReticulumInterfaces {
  /** Enabled [[name]] subsections whose type kosd supports, in file order. */
  sections: ConfigSection[];
  errors: ParseIssue[];
  warnings: ParseIssue[];
}

export function reticulumInterfaces(text: string): ReticulumInterfaces {
  const parsed = parseConfig(text);
  const out: ReticulumInterfaces = { sections: [], errors: parsed.errors, warnings: parsed.warnings };
  if (parsed.errors.length > 0) return out;
  const interfaces = parsed.root.sections.find((s) => s.name === "interfaces");
  if (!interfaces) {
    out.warnings.push({ line: 0, message: "no [interfaces] section; no interfaces imported" });
    return out;
  }
  for (const e of interfaces.entries) {
    out.warnings.push({ line: e.line, column: e.column, message: `"${e.key}" in [interfaces] is not an interface; ignored` });
  }
  for (const s of interfaces.sections) {
    const enabled = isEnabled(s, out.errors);
    if (enabled !== true) continue;
    const type = s.entries.find((e) => e.key === "type");
    if (!type || typeof type.value !== "string") {
      out.errors.push({ line: s.line, message: `interface "${s.name}" has no type` });
      continue;
    }
    const name = type.value.trim();
    if ((SUPPORTED_INTERFACE_TYPES as readonly string[]).includes(name)) {
      out.sections.push(s);
    } else if ((RETICULUM_ONLY_INTERFACE_TYPES as readonly string[]).includes(name)) {
      out.warnings.push({ line: s.line, message: `interface "${s.name}" (${name}) is not supported by kosd yet; skipped` });
    } else {
      out.warnings.push({
        line: s.line,
        message: `interface "${s.name}" has type ${shown(type.raw)}, not a built-in Reticulum type (an external interface module?); kosd cannot run it; skipped`,
      });
    }
  }
  return out;
}

/** rnsd's rule: enabled when `interface_enabled` or `enabled` is true; a value that is no boolean is an error. */
function isEnabled(s: ConfigSection, errors: ParseIssue[]): boolean | null {
  let enabled = false;
  for (const e of s.entries) {
    if (e.key !== "enabled" && e.key !== "interface_enabled") continue;
    const b = typeof e.value === "string" ? parseBool(e.value) : undefined;
    if (b === undefined) {
      errors.push({ line: e.line, column: e.valueColumn, message: `${e.key} must be yes or no (or true/false, on/off, 1/0), got ${shown(e.raw)}` });
      return null;
    }
    enabled ||= b;
  }
  return enabled;
}
